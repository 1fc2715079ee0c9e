//! The start-up check of HubSpot's contact properties against the mapping.
//!
//! A mapping that writes a `date` into a `string` property, or a property
//! that does not exist, would otherwise surface as a dead letter on every
//! record. Comparing once at start-up turns that into one clear error that
//! lists every problem at once. The comparison is pure; the client fetches
//! the definitions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The HubSpot property type a mapped value is converted to. The mapping
/// (in `cdc-core`'s terms) declares one per target property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedType {
    String,
    Number,
    /// A calendar date, sent as midnight-UTC epoch milliseconds.
    Date,
    /// An instant, sent as epoch milliseconds.
    DateTime,
    Bool,
    /// One (or, for checkboxes, several `;`-joined) option `value`s.
    Enumeration,
}

impl ExpectedType {
    /// HubSpot's name for the type (the `type` field of a property).
    pub fn hubspot_name(self) -> &'static str {
        match self {
            ExpectedType::String => "string",
            ExpectedType::Number => "number",
            ExpectedType::Date => "date",
            ExpectedType::DateTime => "datetime",
            ExpectedType::Bool => "bool",
            ExpectedType::Enumeration => "enumeration",
        }
    }

    /// Whether a value converted to `self` can be written to `property`.
    fn accepts(self, property: &PropertyDefinition) -> bool {
        match (self, property.kind.as_str()) {
            (ExpectedType::String, "string" | "phone_number") => true,
            // Older accounts have yes/no properties stored as an enumeration
            // with a boolean checkbox; they take "true"/"false" too.
            (ExpectedType::Bool, "enumeration") => property.field_type == "booleancheckbox",
            (expected, actual) => expected.hubspot_name() == actual,
        }
    }
}

impl fmt::Display for ExpectedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hubspot_name())
    }
}

/// One contact property as `GET /crm/v3/properties/contacts` describes it
/// (only the fields the sink uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDefinition {
    pub name: String,
    #[serde(default)]
    pub label: String,
    /// `string`, `number`, `date`, `datetime`, `bool`, `enumeration`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The form widget: `text`, `checkbox` (multi-select), `booleancheckbox`, …
    #[serde(default)]
    pub field_type: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub has_unique_value: bool,
    #[serde(default)]
    pub modification_metadata: Option<ModificationMetadata>,
}

impl PropertyDefinition {
    fn is_read_only(&self) -> bool {
        self.modification_metadata
            .as_ref()
            .is_some_and(|m| m.read_only_value)
    }
}

/// An enumeration option: the mapping must send `value`, not `label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyOption {
    #[serde(default)]
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    #[serde(default)]
    pub read_only_value: bool,
}

/// One way the HubSpot properties and the mapping disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyProblem {
    Missing {
        name: String,
        expected: ExpectedType,
    },
    WrongType {
        name: String,
        actual: String,
        expected: ExpectedType,
    },
    ReadOnly {
        name: String,
    },
    IdPropertyMissing {
        name: String,
    },
    IdPropertyNotUnique {
        name: String,
    },
}

impl fmt::Display for PropertyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyProblem::Missing { name, expected } => write!(
                f,
                "HubSpot has no contact property `{name}`, the mapping writes it as `{expected}`; \
                 create it in HubSpot (Settings → Properties) with type `{expected}`, or remove it \
                 from the mapping"
            ),
            PropertyProblem::WrongType {
                name,
                actual,
                expected,
            } => write!(
                f,
                "HubSpot property `{name}` is of type `{actual}`, the mapping converts to \
                 `{expected}`; change the mapping's type or the property in HubSpot \
                 (Settings → Properties)"
            ),
            PropertyProblem::ReadOnly { name } => write!(
                f,
                "HubSpot property `{name}` is read-only, HubSpot rejects every write to it; \
                 remove it from the mapping"
            ),
            PropertyProblem::IdPropertyMissing { name } => write!(
                f,
                "the id property `{name}` (hubspot.id_property) does not exist in HubSpot; \
                 create it with \"unique value\" turned on, or use `email`"
            ),
            PropertyProblem::IdPropertyNotUnique { name } => write!(
                f,
                "the id property `{name}` (hubspot.id_property) does not have \"unique value\" \
                 turned on in HubSpot, so it cannot identify a contact; HubSpot only allows that \
                 when a property is created: create a new unique property, or use `email`"
            ),
        }
    }
}

/// Every problem between the `defined` properties and the `expected`
/// mapping, the `id_property` included; empty when they agree.
pub fn compare(
    defined: &[PropertyDefinition],
    expected: &[(String, ExpectedType)],
    id_property: &str,
) -> Vec<PropertyProblem> {
    let find = |name: &str| defined.iter().find(|p| p.name == name);
    let mut problems = Vec::new();

    // `email` is unique by HubSpot's own rules even though its definition
    // does not say `hasUniqueValue`.
    if id_property != "email" {
        match find(id_property) {
            None => problems.push(PropertyProblem::IdPropertyMissing {
                name: id_property.into(),
            }),
            Some(p) if !p.has_unique_value => problems.push(PropertyProblem::IdPropertyNotUnique {
                name: id_property.into(),
            }),
            Some(_) => {}
        }
    }

    for (name, expected) in expected {
        match find(name) {
            // Already reported as the id property.
            None if name == id_property && id_property != "email" => {}
            None => problems.push(PropertyProblem::Missing {
                name: name.clone(),
                expected: *expected,
            }),
            Some(p) if !expected.accepts(p) => problems.push(PropertyProblem::WrongType {
                name: name.clone(),
                actual: p.kind.clone(),
                expected: *expected,
            }),
            Some(p) if p.is_read_only() => {
                problems.push(PropertyProblem::ReadOnly { name: name.clone() })
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, kind: &str) -> PropertyDefinition {
        PropertyDefinition {
            name: name.into(),
            label: name.into(),
            kind: kind.into(),
            field_type: "text".into(),
            options: Vec::new(),
            has_unique_value: false,
            modification_metadata: None,
        }
    }

    fn expect(list: &[(&str, ExpectedType)]) -> Vec<(String, ExpectedType)> {
        list.iter().map(|(n, t)| (n.to_string(), *t)).collect()
    }

    #[test]
    fn matching_types_have_no_problem() {
        let defined = [
            def("email", "string"),
            def("date_of_birth", "date"),
            def("last_login", "datetime"),
            def("phone", "phone_number"),
        ];
        let expected = expect(&[
            ("email", ExpectedType::String),
            ("date_of_birth", ExpectedType::Date),
            ("last_login", ExpectedType::DateTime),
            ("phone", ExpectedType::String),
        ]);
        assert!(compare(&defined, &expected, "email").is_empty());
    }

    #[test]
    fn every_problem_is_listed_and_worded_for_the_operator() {
        let defined = [def("email", "string"), def("date_of_birth", "string")];
        let expected = expect(&[
            ("date_of_birth", ExpectedType::Date),
            ("plan", ExpectedType::Enumeration),
        ]);
        let problems = compare(&defined, &expected, "email");
        assert_eq!(problems.len(), 2);
        assert_eq!(
            problems[0].to_string(),
            "HubSpot property `date_of_birth` is of type `string`, the mapping converts to \
             `date`; change the mapping's type or the property in HubSpot (Settings → Properties)"
        );
        assert!(matches!(&problems[1], PropertyProblem::Missing { name, .. } if name == "plan"));
    }

    #[test]
    fn custom_id_property_must_exist_and_be_unique() {
        let defined = [def("email", "string"), def("app_user_id", "string")];
        assert_eq!(
            compare(&defined, &[], "app_user_id"),
            vec![PropertyProblem::IdPropertyNotUnique {
                name: "app_user_id".into()
            }]
        );
        assert_eq!(
            compare(&defined, &[], "user_ref"),
            vec![PropertyProblem::IdPropertyMissing {
                name: "user_ref".into()
            }]
        );
        let mut unique = def("app_user_id", "string");
        unique.has_unique_value = true;
        assert!(compare(&[unique], &[], "app_user_id").is_empty());
    }

    #[test]
    fn email_needs_no_unique_flag() {
        assert!(compare(&[def("email", "string")], &[], "email").is_empty());
    }

    #[test]
    fn boolean_checkbox_enumeration_takes_bools_and_read_only_is_reported() {
        let mut legacy_bool = def("opted_in", "enumeration");
        legacy_bool.field_type = "booleancheckbox".into();
        let mut read_only = def("hs_object_id", "number");
        read_only.modification_metadata = Some(ModificationMetadata {
            read_only_value: true,
        });
        let expected = expect(&[
            ("opted_in", ExpectedType::Bool),
            ("hs_object_id", ExpectedType::Number),
        ]);
        assert_eq!(
            compare(&[legacy_bool, read_only], &expected, "email"),
            vec![PropertyProblem::ReadOnly {
                name: "hs_object_id".into()
            }]
        );
    }

    #[test]
    fn definitions_parse_from_hubspot_json() {
        let json = r#"{"name":"plan","label":"Plan","type":"enumeration","fieldType":"select",
            "options":[{"label":"Pro","value":"pro","displayOrder":1}],"hasUniqueValue":false,
            "groupName":"contactinformation"}"#;
        let p: PropertyDefinition = serde_json::from_str(json).unwrap();
        assert_eq!(p.kind, "enumeration");
        assert_eq!(p.options[0].value, "pro");
    }
}
