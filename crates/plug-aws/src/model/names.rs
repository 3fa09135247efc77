//! Matching the names skills use (`update_function_code`) to the API's
//! (`UpdateFunctionCode`), and "did you mean" suggestions.

/// A key under which botocore's snake_case name and the API's PascalCase name
/// of an operation are equal: lower case, without underscores or hyphens.
pub fn normalize_operation(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The candidate closest to `wanted`, if any is close enough to be a plausible typo.
pub fn suggest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let key = normalize_operation(wanted);
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&key, &normalize_operation(c)), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_and_pascal_names_normalize_alike() {
        assert_eq!(
            normalize_operation("list_objects_v2"),
            normalize_operation("ListObjectsV2")
        );
        assert_ne!(
            normalize_operation("ListObjects"),
            normalize_operation("ListObjectsV2")
        );
    }

    #[test]
    fn suggestions_need_to_be_close() {
        let ops = [
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "DeleteFunction",
        ];
        assert_eq!(
            suggest("update_function_cod", ops).as_deref(),
            Some("UpdateFunctionCode")
        );
        assert_eq!(suggest("describe_vpcs", ops), None);
    }
}
