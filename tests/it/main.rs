//! One integration-test binary for the workspace (matklad's "one binary"):
//! each module is a layer, each driven by data files under `tests/cases/`.

mod architecture;
mod cli;
mod exec;
mod file_manager;
mod file_manager_round2;
mod integrations;
mod listing_retry;
mod robustness;
mod validate;

/// The repository root (the parent of this crate).
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("root").to_path_buf()
}
