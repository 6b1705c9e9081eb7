//! The planned resources of `terraform show -json <plan>`.

use serde_json::Value;

/// One planned resource instance.
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: String,
    pub kind: String,
    pub values: Value,
}

impl Resource {
    /// A string attribute, if set and known.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_str)
    }

    /// A number attribute, if set and known.
    pub fn num(&self, key: &str) -> Option<f64> {
        self.values.get(key).and_then(Value::as_f64)
    }

    /// The first element of a nested block (`block[0]`), as Terraform renders blocks as lists.
    pub fn block(&self, key: &str) -> Option<&Value> {
        self.values.get(key).and_then(|v| v.get(0))
    }
}

/// Every resource a plan leaves in place (root module and child modules, recursively).
#[derive(Debug, Clone)]
pub struct Plan {
    pub resources: Vec<Resource>,
    /// The root module's outputs as planned, by name: their known parts (`output_changes.<name>.after`; a
    /// plan's input `variables` are the raw values given, without the optional attributes' defaults).
    pub outputs: serde_json::Map<String, Value>,
}

#[derive(Debug)]
pub struct PlanError(pub String);

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a terraform plan JSON: {}", self.0)
    }
}

impl std::error::Error for PlanError {}

impl Plan {
    pub fn from_json(text: &str) -> Result<Self, PlanError> {
        let json: Value = serde_json::from_str(text).map_err(|e| PlanError(e.to_string()))?;
        let root = json
            .pointer("/planned_values/root_module")
            .ok_or_else(|| PlanError("no planned_values.root_module".into()))?;
        let mut resources = Vec::new();
        collect(root, &mut resources);
        let outputs = json
            .get("output_changes")
            .and_then(Value::as_object)
            .map(|outputs| {
                outputs
                    .iter()
                    .filter_map(|(name, change)| Some((name.clone(), change.get("after")?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { resources, outputs })
    }

    /// Managed resources of one type (data sources are left out).
    pub fn of_kind<'a, 'k>(
        &'a self,
        kind: &'k str,
    ) -> impl Iterator<Item = &'a Resource> + use<'a, 'k> {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    pub fn count(&self, kind: &str) -> usize {
        self.of_kind(kind).count()
    }

    /// The planned value of the root module's output `name` (its known parts).
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs.get(name)
    }

    /// The resource of `kind` whose attribute `key` equals `value`.
    pub fn find(&self, kind: &str, key: &str, value: &str) -> Option<&Resource> {
        self.of_kind(kind).find(|r| r.str(key) == Some(value))
    }
}

fn collect(module: &Value, out: &mut Vec<Resource>) {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("mode").and_then(Value::as_str) != Some("managed") {
            continue;
        }
        out.push(Resource {
            address: r
                .get("address")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kind: r
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            values: r.get("values").cloned().unwrap_or(Value::Null),
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(child, out);
    }
}
