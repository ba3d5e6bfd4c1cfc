//! `embed_migrations!` reads `migrations/` while the library compiles, and cargo does not track
//! files a macro reads: without this, a changed or added migration could leave an incremental
//! build embedding the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
