//! `cargo run -p uniffi-bindgen -- generate --library <lib> --language kotlin --out-dir <dir>`:
//! uniffi's own command line, pinned to the workspace's uniffi version so the generated code
//! always matches the scaffolding in the library.

fn main() {
    uniffi::uniffi_bindgen_main()
}
