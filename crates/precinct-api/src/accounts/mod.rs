//! Accounts: logging in and out, passwords, second factors, and the
//! administrator's accounts, sessions and unit edits.

pub mod admin;
pub mod login;
pub mod second_factor;

use crate::gate::{Gate, Routes, Setup};
use precinct_domain::policy::Action::*;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    Routes::default()
        .add(Gate::Public, routes!(login::login))
        .add(Gate::OwnAccount(Setup::Password), routes!(login::logout))
        .add(Gate::OwnAccount(Setup::Password), routes!(login::me))
        .add(
            Gate::OwnAccount(Setup::Password),
            routes!(login::change_password),
        )
        .add(
            Gate::OwnAccount(Setup::SecondFactor),
            routes!(second_factor::enrol_second_factor),
        )
        .add(
            Gate::OwnAccount(Setup::SecondFactor),
            routes!(second_factor::confirm_second_factor),
        )
        .add(Gate::Session(ManageSessions), routes!(admin::list_sessions))
        .add(
            Gate::Session(ManageSessions),
            routes!(admin::revoke_session),
        )
        .add(Gate::Session(ManageAccounts), routes!(admin::list_users))
        .add(Gate::Session(ManageAccounts), routes!(admin::update_user))
        .add(
            Gate::Session(ManageAccounts),
            routes!(admin::reset_password),
        )
        .add(
            Gate::Session(ManageAccounts),
            routes!(admin::reset_second_factor),
        )
        .add(Gate::Session(ManageUnits), routes!(admin::update_unit))
}
