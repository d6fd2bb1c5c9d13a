//! HTTP integration tests: the real server on a free port against a fresh
//! SQLite database per test, driven through its public API only.

mod access;
mod addresses;
mod backup;
mod bad_input;
mod base_map;
#[allow(dead_code)]
#[path = "../support/city_day.rs"]
mod city_day;
mod closures;
mod common;
mod concurrency;
mod console;
mod crash;
mod day_load;
mod demo;
mod disk_full;
mod disputes;
mod dual_reception;
mod edits;
mod field_reports;
mod figures;
mod history_import;
mod idempotency;
mod instances;
mod intelligence;
mod limits;
mod live_stream;
mod migrate;
mod operations;
#[path = "../support/pmtiles.rs"]
mod pmtiles;
mod positions;
mod proposals;
mod record;
mod roads;
mod safe_dispatch;
mod second_factor;
mod simulator;
#[path = "../support/spawn.rs"]
mod spawn;
#[path = "../support/sse.rs"]
mod sse;
mod station;
mod story_night_food_street;
mod time_zone;
mod track;
mod trust;
mod write_path;
