//! Contact property definitions: HubSpot's defaults and the ones clients create.
//!
//! Every write is checked against these definitions, so they are the single
//! source of truth for "does this property exist, what type is it, may it be
//! written, must its value be unique". The JSON shape is the one
//! `GET /crm/v3/properties/contacts` returns, and the same shape is saved in
//! the state file, so one type serves both.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// HubSpot's property `type`: how a value is stored and validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyType {
    String,
    Number,
    Date,
    Datetime,
    Bool,
    Enumeration,
}

/// HubSpot's `fieldType`: how the property is shown in forms. It matters to
/// validation only for enumerations, where `checkbox` means multi-select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Textarea,
    Phonenumber,
    Html,
    File,
    Number,
    Date,
    Select,
    Radio,
    Booleancheckbox,
    Checkbox,
}

impl PropertyType {
    /// The field types HubSpot allows for each type; other pairs are refused
    /// at property creation so validation never meets a nonsensical pair.
    pub fn allows(self, field: FieldType) -> bool {
        use FieldType as F;
        match self {
            PropertyType::String => {
                matches!(
                    field,
                    F::Text | F::Textarea | F::Phonenumber | F::Html | F::File
                )
            }
            PropertyType::Number => field == F::Number,
            PropertyType::Date | PropertyType::Datetime => field == F::Date,
            PropertyType::Bool => field == F::Booleancheckbox,
            PropertyType::Enumeration => {
                matches!(
                    field,
                    F::Select | F::Radio | F::Booleancheckbox | F::Checkbox
                )
            }
        }
    }
}

/// One allowed value of an enumeration (or bool) property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    pub label: String,
    /// The internal value clients must send.
    pub value: String,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub hidden: bool,
}

/// Who may change a property and its values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    #[serde(default)]
    pub archivable: bool,
    #[serde(default)]
    pub read_only_definition: bool,
    /// Values are computed by HubSpot (`hs_object_id`, `createdate`, …);
    /// writing one is a validation error.
    #[serde(default)]
    pub read_only_value: bool,
}

/// A contact property definition, in HubSpot's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDef {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: PropertyType,
    pub field_type: FieldType,
    #[serde(default = "default_group")]
    pub group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub has_unique_value: bool,
    #[serde(default)]
    pub hubspot_defined: bool,
    #[serde(default)]
    pub modification_metadata: ModificationMetadata,
}

fn default_group() -> String {
    "contactinformation".to_string()
}

impl PropertyDef {
    fn builtin(name: &str, label: &str, kind: PropertyType, field_type: FieldType) -> Self {
        PropertyDef {
            name: name.to_string(),
            label: label.to_string(),
            kind,
            field_type,
            group_name: default_group(),
            description: String::new(),
            options: Vec::new(),
            has_unique_value: false,
            hubspot_defined: true,
            modification_metadata: ModificationMetadata {
                archivable: false,
                read_only_definition: true,
                read_only_value: false,
            },
        }
    }

    fn read_only(mut self) -> Self {
        self.modification_metadata.read_only_value = true;
        self
    }

    pub fn is_read_only(&self) -> bool {
        self.modification_metadata.read_only_value
    }

    /// Multi-select: values are `;`-joined option values.
    pub fn is_multi_select(&self) -> bool {
        self.kind == PropertyType::Enumeration && self.field_type == FieldType::Checkbox
    }

    /// Whether records can be found by (and must not share) this property's
    /// value. HubSpot reports `hasUniqueValue: false` for `email`, yet
    /// deduplicates contacts by it and accepts it as `idProperty`; the
    /// simulator keeps the reported flag faithful and special-cases email here.
    pub fn is_unique_key(&self) -> bool {
        self.has_unique_value || self.name == "email"
    }
}

/// HubSpot's standard lifecycle stages, in HubSpot's order.
const LIFECYCLE_STAGES: [(&str, &str); 8] = [
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
];

/// The default contact properties a fresh HubSpot account has (the subset a
/// sync touches; HubSpot has many more).
pub fn defaults() -> Vec<PropertyDef> {
    use FieldType as F;
    use PropertyType as T;
    let text = |name: &str, label: &str| PropertyDef::builtin(name, label, T::String, F::Text);
    let phone =
        |name: &str, label: &str| PropertyDef::builtin(name, label, T::String, F::Phonenumber);
    let mut lifecycle = PropertyDef::builtin(
        "lifecyclestage",
        "Lifecycle Stage",
        T::Enumeration,
        F::Radio,
    );
    lifecycle.options = LIFECYCLE_STAGES
        .iter()
        .zip(0..)
        .map(|((value, label), order)| PropertyOption {
            label: label.to_string(),
            value: value.to_string(),
            display_order: order,
            hidden: false,
        })
        .collect();
    vec![
        text("email", "Email"),
        text("firstname", "First Name"),
        text("lastname", "Last Name"),
        phone("phone", "Phone Number"),
        phone("mobilephone", "Mobile Phone Number"),
        text("company", "Company Name"),
        text("jobtitle", "Job Title"),
        text("country", "Country/Region"),
        text("city", "City"),
        text("state", "State/Region"),
        text("zip", "Postal Code"),
        text("address", "Street Address"),
        text("website", "Website URL"),
        lifecycle,
        PropertyDef::builtin("hs_object_id", "Record ID", T::Number, F::Number).read_only(),
        PropertyDef::builtin("createdate", "Create Date", T::Datetime, F::Date).read_only(),
        PropertyDef::builtin(
            "lastmodifieddate",
            "Last Modified Date",
            T::Datetime,
            F::Date,
        )
        .read_only(),
    ]
}

/// The property definitions of the account, by name.
#[derive(Debug, Clone)]
pub struct Properties {
    defs: BTreeMap<String, PropertyDef>,
}

impl Default for Properties {
    fn default() -> Self {
        Properties::from_defs(defaults())
    }
}

impl Properties {
    pub fn from_defs(defs: impl IntoIterator<Item = PropertyDef>) -> Self {
        Properties {
            defs: defs.into_iter().map(|d| (d.name.clone(), d)).collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&PropertyDef> {
        self.defs.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &PropertyDef> {
        self.defs.values()
    }

    /// Names of the properties records are indexed by (see [`PropertyDef::is_unique_key`]).
    pub fn unique_keys(&self) -> impl Iterator<Item = &str> {
        self.defs
            .values()
            .filter(|d| d.is_unique_key())
            .map(|d| d.name.as_str())
    }

    /// Adds a client-defined property. The caller has checked the name is free
    /// and the definition is valid ([`check_new`]).
    pub fn insert(&mut self, def: PropertyDef) {
        self.defs.insert(def.name.clone(), def);
    }
}

/// Why a client's new property definition is refused (a 400).
pub fn check_new(def: &PropertyDef) -> Result<(), String> {
    let name = &def.name;
    let well_formed = name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(format!(
            "Property name '{name}' is invalid: use lowercase letters, digits and '_', starting with a letter"
        ));
    }
    // HubSpot reserves the hs_ prefix for its own properties.
    if name.starts_with("hs_") {
        return Err(format!(
            "Property name '{name}' uses the reserved prefix 'hs_'"
        ));
    }
    if def.label.trim().is_empty() {
        return Err(format!("Property '{name}' needs a label"));
    }
    if !def.kind.allows(def.field_type) {
        return Err(format!(
            "fieldType {:?} is not allowed for type {:?}",
            def.field_type, def.kind
        ));
    }
    // HubSpot allows unique values on single-line text and number only.
    let uniqueable = matches!(
        (def.kind, def.field_type),
        (PropertyType::String, FieldType::Text) | (PropertyType::Number, FieldType::Number)
    );
    if def.has_unique_value && !uniqueable {
        return Err(format!(
            "Property '{name}': hasUniqueValue is only allowed for single-line text and number properties"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for option in &def.options {
        if option.value.is_empty() || option.value.trim() != option.value {
            return Err(format!(
                "Property '{name}': option value '{}' is empty or padded with whitespace",
                option.value
            ));
        }
        if !seen.insert(option.value.as_str()) {
            return Err(format!(
                "Property '{name}': option value '{}' appears twice",
                option.value
            ));
        }
    }
    Ok(())
}

/// Options a new `bool` property gets when the client sends none, as HubSpot does.
pub fn bool_options() -> Vec<PropertyOption> {
    vec![
        PropertyOption {
            label: "Yes".into(),
            value: "true".into(),
            display_order: 0,
            hidden: false,
        },
        PropertyOption {
            label: "No".into(),
            value: "false".into(),
            display_order: 1,
            hidden: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, kind: PropertyType, field: FieldType) -> PropertyDef {
        let mut d = PropertyDef::builtin(name, "Label", kind, field);
        d.hubspot_defined = false;
        d
    }

    #[test]
    fn defaults_have_lifecycle_options_and_read_only_ids() {
        let props = Properties::default();
        let stage = props.get("lifecyclestage").unwrap();
        let values: Vec<_> = stage.options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values[0], "subscriber");
        assert!(values.contains(&"marketingqualifiedlead"));
        assert_eq!(values.len(), 8);
        assert!(props.get("hs_object_id").unwrap().is_read_only());
        assert!(props.get("createdate").unwrap().is_read_only());
        assert!(!props.get("email").unwrap().is_read_only());
    }

    #[test]
    fn email_is_a_unique_key_without_claiming_has_unique_value() {
        let props = Properties::default();
        let email = props.get("email").unwrap();
        assert!(!email.has_unique_value);
        assert!(email.is_unique_key());
        assert_eq!(props.unique_keys().collect::<Vec<_>>(), vec!["email"]);
    }

    #[test]
    fn serialises_in_hubspot_shape() {
        let v = serde_json::to_value(Properties::default().get("lifecyclestage").unwrap()).unwrap();
        assert_eq!(v["type"], "enumeration");
        assert_eq!(v["fieldType"], "radio");
        assert_eq!(v["groupName"], "contactinformation");
        assert_eq!(v["hasUniqueValue"], false);
        assert_eq!(v["options"][1]["value"], "lead");
        assert_eq!(v["options"][1]["hidden"], false);
    }

    #[test]
    fn check_new_rejects_bad_definitions() {
        assert!(check_new(&custom("ext_id", PropertyType::Number, FieldType::Number)).is_ok());
        assert!(check_new(&custom("Bad-Name", PropertyType::String, FieldType::Text)).is_err());
        assert!(check_new(&custom("hs_mine", PropertyType::String, FieldType::Text)).is_err());
        assert!(check_new(&custom("x", PropertyType::Number, FieldType::Select)).is_err());
        let mut unique_enum = custom("x", PropertyType::Enumeration, FieldType::Select);
        unique_enum.has_unique_value = true;
        assert!(check_new(&unique_enum).is_err());
        let mut dup = custom("x", PropertyType::Enumeration, FieldType::Select);
        dup.options = bool_options();
        dup.options.push(bool_options()[0].clone());
        assert!(check_new(&dup).is_err());
    }
}
