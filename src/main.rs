//! The `consilium` binary: parses the command line and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = consilium::cli::Cli::parse();
    match consilium::cli::run(cli).await {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("consilium: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
