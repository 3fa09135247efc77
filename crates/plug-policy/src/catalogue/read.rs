//! Reading the catalogue's line format (written by `cargo xtask update-iam-data`):
//! `S prefix`, then `K key...`, `R name arn keys`, `A name resources keys`,
//! tab-separated, indices comma-separated and counted per service.

use std::collections::HashMap;
use std::io::Read as _;

use super::{Action, Catalogue, CatalogueError, ConditionKey, ResourceType, Service};
use crate::glob::{Glob, GlobBuilder};

/// Decompresses the embedded file.
pub(super) fn gunzip(bytes: &[u8]) -> Result<String, CatalogueError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| CatalogueError::Decompress(e.to_string()))?;
    Ok(text)
}

/// Reads every line; the first problem stops the read (the data is generated).
pub(super) fn catalogue(text: &str) -> Result<Catalogue, CatalogueError> {
    let mut catalogue = Catalogue::default();
    for (n, line) in text.lines().enumerate() {
        let fail = |problem: &str| CatalogueError::Format {
            line: n + 1,
            problem: problem.to_owned(),
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let tag = fields.next().unwrap_or_default();
        if tag == "S" {
            let prefix = fields.next().filter(|p| !p.is_empty());
            start_service(&mut catalogue, prefix.ok_or_else(|| fail("no prefix"))?);
            continue;
        }
        let service = catalogue
            .services
            .last_mut()
            .ok_or_else(|| fail("a line before the first service"))?;
        match tag {
            "K" => service.keys.extend(fields.map(ConditionKey::new)),
            "R" => service
                .resources
                .push(resource(fields).map_err(|p| fail(&p))?),
            "A" => add_action(service, fields).map_err(|p| fail(&p))?,
            _ => return Err(fail("unknown line tag")),
        }
    }
    Ok(catalogue)
}

fn start_service(catalogue: &mut Catalogue, prefix: &str) {
    catalogue
        .by_prefix
        .insert(prefix.to_ascii_lowercase(), catalogue.services.len());
    catalogue.services.push(Service {
        prefix: prefix.to_owned(),
        keys: Vec::new(),
        resources: Vec::new(),
        actions: Vec::new(),
        by_name: HashMap::new(),
    });
}

fn resource<'l>(mut fields: impl Iterator<Item = &'l str>) -> Result<ResourceType, String> {
    let name = fields.next().ok_or("a resource type without a name")?;
    let arn = fields.next().unwrap_or_default();
    Ok(ResourceType {
        name: name.to_owned(),
        arn: arn.to_owned(),
        keys: indices(fields.next())?,
    })
}

fn add_action<'l>(
    service: &mut Service,
    mut fields: impl Iterator<Item = &'l str>,
) -> Result<(), String> {
    let name = fields
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("an action without a name")?;
    let action = Action {
        name: name.to_owned(),
        resources: indices(fields.next())?,
        keys: indices(fields.next())?,
        lower: name.to_ascii_lowercase(),
    };
    let bad_resource = action
        .resources
        .iter()
        .any(|&r| usize::from(r) >= service.resources.len());
    let bad_key = action
        .keys
        .iter()
        .any(|&k| usize::from(k) >= service.keys.len());
    if bad_resource || bad_key {
        return Err(format!("action {name} refers to a missing resource or key"));
    }
    service
        .by_name
        .insert(action.lower.clone(), service.actions.len());
    service.actions.push(action);
    Ok(())
}

fn indices(field: Option<&str>) -> Result<Vec<u16>, String> {
    field
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("`{s}` is not an index")))
        .collect()
}

/// `aws:RequestTag/${TagKey}` or `s3:ExistingObjectTag/<key>`: lowercased text,
/// each placeholder standing for one or more characters of any kind.
pub(super) fn key_pattern(name: &str) -> Glob {
    let lower = name.to_ascii_lowercase();
    let mut builder = GlobBuilder::default();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find(['$', '<']) {
        let close = if rest[start..].starts_with("${") {
            '}'
        } else if rest[start..].starts_with('<') {
            '>'
        } else {
            builder.literal(&rest[..=start]);
            rest = &rest[start + 1..];
            continue;
        };
        let Some(len) = rest[start..].find(close) else {
            break;
        };
        builder.literal(&rest[..start]);
        builder.pattern("?*");
        rest = &rest[start + len + 1..];
    }
    builder.literal(rest);
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# comment\n\
        S\tlambda\n\
        K\tlambda:Layer\taws:ResourceTag/${TagKey}\n\
        R\tfunction\tarn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}\t1\n\
        A\tCreateFunction\t0\t0\n\
        A\tListFunctions\t\t\n\
        S\tempty\n\
        K\n";

    #[test]
    fn reads_services_resources_and_actions() {
        let c = catalogue(SAMPLE).expect("reads");
        let lambda = c.service("Lambda").expect("lambda");
        let create = lambda.action("createFUNCTION").expect("action");
        let keys: Vec<&str> = lambda.keys_of(create).map(|k| k.name.as_str()).collect();
        assert_eq!(keys, ["lambda:Layer", "aws:ResourceTag/${TagKey}"]);
        assert_eq!(lambda.resources[0].name, "function");
        assert!(c.service("empty").is_some_and(|s| s.actions.is_empty()));
    }

    #[test]
    fn bad_lines_are_located() {
        let error = catalogue("S\tx\nA\tDo\t3\t\n").expect_err("missing resource");
        assert!(
            matches!(error, CatalogueError::Format { line: 2, .. }),
            "{error}"
        );
        let error = catalogue("A\tDo\t\t\n").expect_err("no service");
        assert!(matches!(error, CatalogueError::Format { line: 1, .. }));
        let error = catalogue("S\tx\nK\tk\nA\tDo\t\tone\n").expect_err("bad index");
        assert!(error.to_string().contains("`one`"), "{error}");
        assert!(gunzip(b"not gzip").is_err());
    }

    #[test]
    fn placeholders_need_text_and_the_rest_is_literal() {
        let p = key_pattern("ec2:Attribute/${AttributeName}/x");
        assert!(p.matches("ec2:attribute/a/b/x"));
        assert!(!p.matches("ec2:attribute//x"));
        assert!(key_pattern("odd:$key").matches("odd:$key"));
        assert!(!key_pattern("odd:a*b").matches("odd:aXb"));
    }
}
