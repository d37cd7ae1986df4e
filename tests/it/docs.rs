//! The README's data dictionary is the one generated from the SQL headers.

use crate::support::repo;

#[test]
fn readme_data_dictionary_matches_the_sql_headers() {
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- data-dictionary:start -->\n", "<!-- data-dictionary:end -->");
    let a = readme.find(start).expect("start marker") + start.len();
    let b = readme.find(end).expect("end marker");
    let generated = cvm::engine::sqlfiles::data_dictionary();
    if std::env::var_os("CVM_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{}{}{}", &readme[..a], generated, &readme[b..])).unwrap();
        return;
    }
    assert_eq!(
        &readme[a..b],
        generated,
        "README's data dictionary is stale: run CVM_UPDATE_GOLDEN=1 cargo test readme"
    );
}
