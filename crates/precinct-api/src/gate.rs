//! What a route needs, declared once with the route itself.
//!
//! Each feature folder lists its routes as `routes.add(gate, routes!(handler))`:
//! the handler's `#[utoipa::path]` attribute gives its method, path and
//! document entry, and the gate is written into both the router (as a
//! request extension the session extractor, `Authed` in `session.rs`,
//! applies before any handler runs) and the document (`x-precinct-access`:
//! the action and the roles that may ever do it). There is no other list of
//! routes: a route is in the document and has its gate because it was added
//! here, and one without a gate answers 500 to every session.
//!
//! Handlers then ask the policy again about the object itself
//! (`precinct_domain::policy`: own unit, own organisation, party to the case).

use crate::AppState;
use precinct_domain::policy::{self, Action};
use precinct_domain::user::Role;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::PathItem;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// No session (health, the document, logging in).
    Public,
    /// A session whose role may do this action (on some object), with its
    /// password and (where the role needs one) its second factor set.
    Session(Action),
    /// One's own account while it is still being set up.
    OwnAccount(Setup),
}

/// Which part of setting up one's own account a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Who one is, setting one's password, logging out: open while a
    /// one-time password must still be changed, and before a second factor.
    Password,
    /// Enrolling a second factor: open before one is set, once the password is.
    SecondFactor,
}

impl Gate {
    /// The policy action a session's role must be able to do, if any.
    pub fn action(self) -> Option<Action> {
        match self {
            Gate::Public => None,
            Gate::Session(action) => Some(action),
            Gate::OwnAccount(_) => Some(Action::UseOwnAccount),
        }
    }

    /// Open to an account whose one-time password must still be changed.
    pub fn open_before_password(self) -> bool {
        self == Gate::OwnAccount(Setup::Password)
    }

    /// Open to a role that needs a second factor and has none yet.
    pub fn open_before_second_factor(self) -> bool {
        matches!(self, Gate::OwnAccount(_))
    }

    /// The gate as the document shows it (`x-precinct-access`).
    fn describe(self) -> serde_json::Value {
        let Some(action) = self.action() else {
            return serde_json::json!({ "session": false });
        };
        let roles: Vec<&str> = Role::ALL
            .iter()
            .filter(|role| policy::may_ever(**role, action))
            .map(|role| role.as_str())
            .collect();
        serde_json::json!({
            "session": true,
            "action": action.as_str(),
            "roles": roles,
            "before_password_change": self.open_before_password(),
            "before_second_factor": self.open_before_second_factor(),
        })
    }

    /// The gate a document operation declares, read back (for tests and
    /// for integrators' tooling): None when it has none.
    pub fn declared(operation: &serde_json::Value) -> Option<Gate> {
        let access = operation.get(ACCESS_EXTENSION)?;
        if access.get("session")? == false {
            return Some(Gate::Public);
        }
        let action = Action::parse(access.get("action")?.as_str()?)?;
        let gate = match (
            action,
            access.get("before_password_change")?.as_bool()?,
            access.get("before_second_factor")?.as_bool()?,
        ) {
            (Action::UseOwnAccount, true, true) => Gate::OwnAccount(Setup::Password),
            (Action::UseOwnAccount, false, true) => Gate::OwnAccount(Setup::SecondFactor),
            (action, false, false) => Gate::Session(action),
            _ => return None,
        };
        Some(gate)
    }
}

/// The document's extension naming an operation's gate.
pub const ACCESS_EXTENSION: &str = "x-precinct-access";

/// Routes with their document entries and gates: the only way a route
/// enters the app (see the module's documentation).
#[derive(Default)]
pub(crate) struct Routes(OpenApiRouter<AppState>);

impl Routes {
    /// Adds the operations of `routes` (from `utoipa_axum::routes!`), each
    /// behind `gate`.
    pub(crate) fn add(self, gate: Gate, routes: UtoipaMethodRouter<AppState>) -> Routes {
        self.add_with(gate, routes, |router| router)
    }

    /// As [`Routes::add`], for a write a client may retry: the route takes
    /// an `Idempotency-Key` (`crate::idempotency`), documented with it.
    pub(crate) fn add_idempotent(
        self,
        gate: Gate,
        (schemas, mut paths, router): UtoipaMethodRouter<AppState>,
    ) -> Routes {
        for item in paths.paths.values_mut() {
            for operation in operations(item) {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(crate::idempotency::header_parameter());
            }
        }
        self.add_with(gate, (schemas, paths, router), |router| {
            router.layer(axum::middleware::from_fn(crate::idempotency::idempotent))
        })
    }

    /// As [`Routes::add`], with `layer` wrapped around the handlers (a body
    /// limit of its own).
    pub(crate) fn add_with(
        self,
        gate: Gate,
        (schemas, mut paths, router): UtoipaMethodRouter<AppState>,
        layer: impl FnOnce(
            axum::routing::MethodRouter<AppState>,
        ) -> axum::routing::MethodRouter<AppState>,
    ) -> Routes {
        for item in paths.paths.values_mut() {
            for operation in operations(item) {
                operation
                    .extensions
                    .get_or_insert_with(Default::default)
                    .insert(ACCESS_EXTENSION.to_owned(), gate.describe());
            }
        }
        let router = layer(router).layer(axum::Extension(gate));
        Routes(self.0.routes((schemas, paths, router)))
    }

    /// Documents `T` (and the schemas it names) though no operation names
    /// it: what travels inside another body, such as a stream's frames.
    pub(crate) fn schema<T: utoipa::ToSchema>(mut self) -> Routes {
        let mut schemas = vec![(T::name().into_owned(), T::schema())];
        T::schemas(&mut schemas);
        self.0
            .get_openapi_mut()
            .components
            .get_or_insert_with(Default::default)
            .schemas
            .extend(schemas);
        self
    }

    /// These routes and `other`'s.
    pub(crate) fn merge(self, other: Routes) -> Routes {
        Routes(self.0.merge(other.0))
    }

    /// The router and the document's paths.
    pub(crate) fn split(self) -> (axum::Router<AppState>, OpenApi) {
        self.0.split_for_parts()
    }
}

/// Every operation of a path item.
pub(crate) fn operations(
    item: &mut PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
        item.options.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}
