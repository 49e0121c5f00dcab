//! Tells the tests whether the shared HS2022 file lies beside the repository
//! (`../shared/data/hs2022.csv`); tests that read it are ignored where it does not.
//! With LIMS_REQUIRE_SHARED=1 (as in CI) its absence stops the build.

fn main() {
    let file = std::path::Path::new("../shared/data/hs2022.csv");
    println!("cargo::rerun-if-changed=../shared/data/hs2022.csv");
    println!("cargo::rerun-if-env-changed=LIMS_REQUIRE_SHARED");
    println!("cargo::rustc-check-cfg=cfg(lims_shared_data)");
    if file.is_file() {
        println!("cargo::rustc-cfg=lims_shared_data");
    } else if std::env::var("LIMS_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("LIMS_REQUIRE_SHARED=1 but ../shared/data/hs2022.csv is missing");
    } else {
        println!("cargo::warning=../shared/data/hs2022.csv not found: the tests that import it are ignored");
    }
}
