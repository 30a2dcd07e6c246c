//! Lists the SQLite migrations that D1 shares with the native server
//! (`native/migrations/sqlite`, applied by `wrangler d1 migrations apply`), so that the
//! readiness check can tell a database with pending migrations.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../native/migrations/sqlite");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    std::fs::write(
        &out,
        format!(
            "/// The migrations of `native/migrations/sqlite`, in order.\npub const MIGRATIONS: &[&str] = &[{}];\n",
            list.join(", ")
        ),
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
