//! `mantle`: the server and its operator commands.
//!
//! ```text
//! mantle serve --listen 127.0.0.1:8080 --data-dir ./data
//! mantle plugin install ./my-guardrail
//! mantle plugin list
//! mantle guardrail attach <guardrail-id> my-guardrail --config '{"action":"BLOCK"}'
//! ```

fn main() -> std::process::ExitCode {
    mantle_server::telemetry::init_logging();
    match mantle_server::cli::run(std::env::args_os()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
