//! IAM policy documents as IAM accepts them.
//!
//! A document is kept as the JSON it came in (key order preserved) plus an
//! interpretation of each statement. Only the `Action`/`NotAction` of an Allow
//! statement is ever rewritten; everything else (`Resource`, `NotResource`,
//! `Condition`, `Principal`, Deny statements, unknown keys) is written back
//! verbatim. A statement the parser does not fully understand is *opaque*: it is
//! kept untouched and reported as a diagnostic, never an error.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// What a statement grants or denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `Action`: the listed patterns.
    Action(Vec<String>),
    /// `NotAction`: everything except the listed patterns.
    NotAction(Vec<String>),
}

/// One statement: its verbatim JSON and, when understood, its meaning.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The statement exactly as written.
    pub raw: Value,
    pub sid: Option<String>,
    /// `None` when the statement is opaque.
    pub meaning: Option<(Effect, Grant)>,
    /// Why the statement is opaque.
    pub opaque_reason: Option<String>,
    /// Whether `Action`/`NotAction` was a single string rather than a list.
    pub single_action: bool,
}

/// A parsed policy document.
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    /// The document as written, with `Statement` kept in place.
    root: Option<Map<String, Value>>,
    /// The text it came from (decoded), for documents that could not be parsed.
    text: String,
    statement_is_list: bool,
    pub statements: Vec<Statement>,
    /// Set when the document as a whole could not be understood.
    pub opaque_reason: Option<String>,
}

/// Decodes the URL-encoded form IAM's API returns; plain JSON passes through.
///
/// This is the one place policy text is decoded.
pub fn decode_document_text(text: &str) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || !trimmed.contains('%') {
        return text.to_string();
    }
    match percent_decode_str(trimmed).decode_utf8() {
        Ok(s) => s.into_owned(),
        Err(_) => text.to_string(),
    }
}

impl PolicyDocument {
    /// Parses a document, plain or URL-encoded. Never fails: what cannot be
    /// understood is kept opaque and explained in `opaque_reason`.
    pub fn parse(text: &str) -> PolicyDocument {
        let text = decode_document_text(text);
        let mut root = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return PolicyDocument::opaque(text, "the document is not a JSON object"),
            Err(e) => {
                return PolicyDocument::opaque(
                    text,
                    &format!("the document is not valid JSON: {e}"),
                );
            }
        };
        // The statements move out of the root (their place stays, as `null`):
        // each keeps its own JSON, with no copy.
        let (statements, is_list) = match root.get_mut("Statement").map(Value::take) {
            Some(Value::Array(list)) => (list.into_iter().map(Statement::parse).collect(), true),
            Some(obj @ Value::Object(_)) => (vec![Statement::parse(obj)], false),
            Some(_) => {
                return PolicyDocument::opaque(
                    text,
                    "\"Statement\" is neither an object nor a list",
                );
            }
            None => return PolicyDocument::opaque(text, "the document has no \"Statement\""),
        };
        PolicyDocument {
            root: Some(root),
            text,
            statement_is_list: is_list,
            statements,
            opaque_reason: None,
        }
    }

    fn opaque(text: String, reason: &str) -> PolicyDocument {
        PolicyDocument {
            root: None,
            text,
            statement_is_list: true,
            statements: Vec::new(),
            opaque_reason: Some(reason.to_string()),
        }
    }

    /// The decoded text the document was parsed from.
    pub fn original_text(&self) -> &str {
        &self.text
    }

    /// Builds the document with `statements` in place of the original ones
    /// (compact JSON, other keys kept in place). `None` when the original could
    /// not be parsed: such a document is never rewritten.
    pub fn with_statements(&self, mut statements: Vec<Value>) -> Option<String> {
        let root = self.root.as_ref()?;
        let mut value = if !self.statement_is_list && statements.len() == 1 {
            statements.pop()
        } else {
            Some(Value::Array(statements))
        };
        let mut out = Map::with_capacity(root.len());
        for (k, v) in root {
            if k == "Statement" {
                out.insert(k.clone(), value.take().unwrap_or(Value::Null));
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
        Some(Value::Object(out).to_string())
    }
}

impl Statement {
    fn parse(raw: Value) -> Statement {
        let mut st = Statement {
            raw,
            sid: None,
            meaning: None,
            opaque_reason: None,
            single_action: false,
        };
        match interpret(&st.raw) {
            Ok((sid, effect, grant, single)) => {
                st.sid = sid;
                st.meaning = Some((effect, grant));
                st.single_action = single;
            }
            Err(reason) => {
                st.sid = st
                    .raw
                    .get("Sid")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                st.opaque_reason = Some(reason);
            }
        }
        st
    }

    /// The statement with its action list replaced by `actions` as `Action`
    /// (a `NotAction` becomes an explicit `Action`). Other keys keep their place.
    pub fn with_actions(&self, actions: &[String]) -> Value {
        let value = if actions.len() == 1 && self.single_action {
            Value::String(actions[0].clone())
        } else {
            Value::Array(actions.iter().cloned().map(Value::String).collect())
        };
        let Value::Object(map) = &self.raw else {
            return self.raw.clone();
        };
        let mut out = Map::with_capacity(map.len());
        for (k, v) in map {
            if k == "Action" || k == "NotAction" {
                out.insert("Action".to_string(), value.clone());
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
        Value::Object(out)
    }
}

const KNOWN_KEYS: [&str; 10] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "Id",
];

type Interpreted = (Option<String>, Effect, Grant, bool);

fn interpret(raw: &Value) -> Result<Interpreted, String> {
    let Value::Object(map) = raw else {
        return Err("the statement is not a JSON object".to_string());
    };
    if let Some(k) = map.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(format!("unknown key {k:?}"));
    }
    let sid = match map.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("\"Sid\" is not a string".to_string()),
    };
    let effect = match map.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => return Err(format!("\"Effect\" is {other}, not \"Allow\" or \"Deny\"")),
        None => return Err("the statement has no \"Effect\"".to_string()),
    };
    for key in ["Resource", "NotResource"] {
        if let Some(v) = map.get(key) {
            string_or_list(v).map_err(|e| format!("\"{key}\" {e}"))?;
        }
    }
    if map.contains_key("Resource") && map.contains_key("NotResource") {
        return Err("the statement has both \"Resource\" and \"NotResource\"".to_string());
    }
    if map.get("Condition").is_some_and(|c| !c.is_object()) {
        return Err("\"Condition\" is not an object".to_string());
    }
    let (grant, single) = match (map.get("Action"), map.get("NotAction")) {
        (Some(a), None) => {
            let (list, single) = string_or_list(a).map_err(|e| format!("\"Action\" {e}"))?;
            (Grant::Action(list), single)
        }
        (None, Some(n)) => {
            let (list, single) = string_or_list(n).map_err(|e| format!("\"NotAction\" {e}"))?;
            (Grant::NotAction(list), single)
        }
        (Some(_), Some(_)) => {
            return Err("the statement has both \"Action\" and \"NotAction\"".to_string());
        }
        (None, None) => {
            return Err("the statement has neither \"Action\" nor \"NotAction\"".to_string());
        }
    };
    Ok((sid, effect, grant, single))
}

fn string_or_list(v: &Value) -> Result<(Vec<String>, bool), String> {
    match v {
        Value::String(s) => Ok((vec![s.clone()], true)),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("holds {i}, which is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|l| (l, false)),
        other => Err(format!(
            "is {other}, neither a string nor a list of strings"
        )),
    }
}

/// The size IAM counts for a document: its characters, whitespace not counted.
pub fn iam_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests;
