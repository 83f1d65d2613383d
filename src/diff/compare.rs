//! One kind's entities before and after, compared: each entity added,
//! removed, renamed (removed and added under another key, with the same
//! values) or changed, field by field, and whether callers of the
//! generated code break.
//!
//! Renames found in one kind carry over to the kinds compared after it: a
//! column that `references` a renamed entity is compared through the
//! rename, so a lane whose pool was renamed is not a lane moved.

use std::collections::{BTreeMap, BTreeSet};

use super::entities::{Table, plain};
use super::report::{Change, ChangeKind, Fields, Shown};
use crate::manifest::EntityKind;
use crate::sparql::Value;

/// Renames found so far: kind → old key → new key.
pub type Renames = BTreeMap<String, BTreeMap<String, String>>;

/// The changes to the entities of `kind` between `before` and `after`;
/// adds the renames it finds to `renames`.
pub fn compare(
    kind: &EntityKind,
    before: &Table,
    after: &Table,
    renames: &mut Renames,
) -> Vec<Change> {
    let mut columns = after.columns.clone();
    columns.extend(
        before
            .columns
            .iter()
            .filter(|c| !after.columns.contains(c))
            .cloned(),
    );
    let comparer = Comparer {
        kind,
        columns,
        renames,
    };

    let removed: Vec<&String> = before
        .rows
        .keys()
        .filter(|k| !after.rows.contains_key(*k))
        .collect();
    let added: Vec<&String> = after
        .rows
        .keys()
        .filter(|k| !before.rows.contains_key(*k))
        .collect();
    // A removed entity whose values (all but the API's) match an added one's
    // is that one under another name: pair them in key order.
    let mut paired: BTreeMap<&String, &String> = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for old in &removed {
        let identity = comparer.identity(&before.rows[*old], true);
        if identity.is_empty() {
            continue;
        }
        let found = added.iter().find(|new| {
            !taken.contains(*new) && comparer.identity(&after.rows[**new], false) == identity
        });
        if let Some(new) = found {
            taken.insert(*new);
            paired.insert(old, new);
        }
    }

    let keys: BTreeSet<&String> = before.rows.keys().chain(after.rows.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        match (before.rows.get(key), after.rows.get(key)) {
            (Some(old), Some(new)) => changes.extend(comparer.fields(key, old, new)),
            (Some(old), None) => match paired.get(key) {
                Some(new_key) => {
                    changes.push(comparer.renamed(key, new_key));
                    changes.extend(comparer.fields(new_key, old, &after.rows[*new_key]));
                }
                None => changes.push(comparer.whole(key, ChangeKind::Removed, old)),
            },
            (None, Some(new)) if !taken.contains(&key) => {
                changes.push(comparer.whole(key, ChangeKind::Added, new));
            }
            _ => {}
        }
    }
    let found: BTreeMap<String, String> = paired
        .into_iter()
        .map(|(old, new)| (old.clone(), new.clone()))
        .collect();
    if !found.is_empty() {
        renames.insert(kind.kind.clone(), found);
    }
    changes
}

struct Comparer<'a> {
    kind: &'a EntityKind,
    columns: Vec<String>,
    renames: &'a Renames,
}

impl Comparer<'_> {
    /// The values that say which entity this is: every column outside the
    /// API, references taken through the renames when `before`.
    fn identity(&self, fields: &Fields, before: bool) -> Vec<(String, Option<Value>)> {
        self.columns
            .iter()
            .filter(|c| !self.kind.api.contains_key(*c))
            .map(|c| {
                let value = get(fields, c);
                let value = if before {
                    self.through_renames(c, value).0
                } else {
                    value
                };
                (c.clone(), value)
            })
            .collect()
    }

    /// `value` of `column` after the rename of the entity it references,
    /// and that rename (kind, old key, new key) if there was one.
    fn through_renames(
        &self,
        column: &str,
        value: Option<Value>,
    ) -> (Option<Value>, Option<(String, String, String)>) {
        let Some(target) = self.kind.references.get(column) else {
            return (value, None);
        };
        let renamed = value.as_ref().and_then(|v| {
            let old = plain(v);
            let new = self.renames.get(target)?.get(&old)?;
            Some((target.clone(), old, new.clone()))
        });
        match renamed {
            Some((target, old, new)) => (Some(Value::Str(new.clone())), Some((target, old, new))),
            None => (value, None),
        }
    }

    /// Why removing or renaming an entity of this kind breaks callers.
    fn removed_reason(&self, key: &str) -> String {
        self.kind.removed.clone().unwrap_or_else(|| {
            format!(
                "the generated code no longer has the {} `{key}`: callers that name it break",
                self.kind.kind
            )
        })
    }

    fn renamed(&self, old: &str, new: &str) -> Change {
        Change {
            kind: self.kind.kind.clone(),
            key: old.to_string(),
            change: ChangeKind::Renamed,
            field: Some(self.kind.key.clone()),
            before: Some(Shown::One(Value::Str(old.to_string()))),
            after: Some(Shown::One(Value::Str(new.to_string()))),
            breaking: true,
            reason: Some(self.removed_reason(old)),
        }
    }

    fn whole(&self, key: &str, change: ChangeKind, fields: &Fields) -> Change {
        let shown = Some(Shown::Entity(fields.clone()));
        let removed = change == ChangeKind::Removed;
        Change {
            kind: self.kind.kind.clone(),
            key: key.to_string(),
            change,
            field: None,
            before: if removed { shown.clone() } else { None },
            after: if removed { None } else { shown },
            breaking: removed,
            reason: removed.then(|| self.removed_reason(key)),
        }
    }

    /// Each value of entity `key` that differs between `old` and `new`.
    fn fields(&self, key: &str, old: &Fields, new: &Fields) -> Vec<Change> {
        let mut changes = Vec::new();
        for column in &self.columns {
            let (before, after) = (get(old, column), get(new, column));
            if before == after {
                continue;
            }
            let (through, rename) = self.through_renames(column, before.clone());
            let (breaking, reason) = match (self.kind.api.get(column), rename) {
                (_, Some((target, old_key, new_key))) if through == after => (
                    false,
                    Some(format!(
                        "follows the rename of the {target} `{old_key}` to `{new_key}`"
                    )),
                ),
                (Some(why), _) => (true, Some(why.clone())),
                (None, _) => (false, None),
            };
            changes.push(Change {
                kind: self.kind.kind.clone(),
                key: key.to_string(),
                change: ChangeKind::Changed,
                field: Some(column.clone()),
                before: before.map(Shown::One),
                after: after.map(Shown::One),
                breaking,
                reason,
            });
        }
        changes
    }
}

fn get(fields: &Fields, column: &str) -> Option<Value> {
    fields
        .0
        .iter()
        .find(|(c, _)| c == column)
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Source;

    fn kind(name: &str, api: &[&str], references: &[(&str, &str)]) -> EntityKind {
        EntityKind {
            kind: name.into(),
            query: Source::Inline {
                text: String::new(),
                span: 0..0,
            },
            key: "key".into(),
            removed: None,
            api: api
                .iter()
                .map(|c| (c.to_string(), format!("{c} is API")))
                .collect(),
            references: references
                .iter()
                .map(|(c, k)| (c.to_string(), k.to_string()))
                .collect(),
        }
    }

    fn table(rows: &[(&str, &[(&str, Value)])]) -> Table {
        let columns = rows
            .first()
            .map(|(_, fields)| fields.iter().map(|(c, _)| c.to_string()).collect())
            .unwrap_or_default();
        let rows = rows
            .iter()
            .map(|(key, fields)| {
                let fields = fields.iter().map(|(c, v)| (c.to_string(), v.clone()));
                (key.to_string(), Fields(fields.collect()))
            })
            .collect();
        Table { columns, rows }
    }

    fn summary(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {}",
                    c.change.name(),
                    c.key,
                    c.field.as_deref().unwrap_or("-"),
                    if c.breaking { "breaking" } else { "fine" }
                )
            })
            .collect()
    }

    use Value::{Int, Str};

    #[test]
    fn same_values_under_another_key_are_a_rename_in_key_order() {
        let pool = kind("pool", &["default"], &[]);
        let before = table(&[
            ("a", &[("default", Value::Bool(true)), ("size", Int(3))]),
            ("b", &[("default", Value::Bool(false)), ("size", Int(3))]),
        ]);
        let after = table(&[
            ("c", &[("default", Value::Bool(true)), ("size", Int(3))]),
            ("d", &[("default", Value::Bool(false)), ("size", Int(3))]),
        ]);
        let mut renames = Renames::new();
        let changes = compare(&pool, &before, &after, &mut renames);
        // `default` is API, so it says nothing of identity: a → c, b → d,
        // and no value changed.
        assert_eq!(
            summary(&changes),
            ["renamed a key breaking", "renamed b key breaking"]
        );
        assert_eq!(renames["pool"]["a"], "c");
        assert_eq!(renames["pool"]["b"], "d");
    }

    #[test]
    fn other_values_are_a_removal_and_an_addition() {
        let pool = kind("pool", &[], &[]);
        let before = table(&[("a", &[("size", Int(3))])]);
        let after = table(&[("b", &[("size", Int(4))])]);
        let changes = compare(&pool, &before, &after, &mut Renames::new());
        assert_eq!(
            summary(&changes),
            ["removed a - breaking", "added b - fine"]
        );
    }

    #[test]
    fn a_kind_of_api_columns_only_has_no_renames() {
        let queue = kind("queue", &["stream"], &[]);
        let before = table(&[("a", &[("stream", Str("S".into()))])]);
        let after = table(&[("b", &[("stream", Str("S".into()))])]);
        let changes = compare(&queue, &before, &after, &mut Renames::new());
        assert_eq!(
            summary(&changes),
            ["removed a - breaking", "added b - fine"]
        );
    }

    #[test]
    fn a_reference_follows_a_rename_and_an_api_change_breaks() {
        let lane = kind("lane", &["pool"], &[("pool", "pool")]);
        let mut renames = Renames::new();
        renames.insert("pool".into(), [("p".to_string(), "q".to_string())].into());
        let before = table(&[
            ("x", &[("pool", Str("p".into())), ("window", Int(1))]),
            ("y", &[("pool", Str("r".into())), ("window", Int(1))]),
        ]);
        let after = table(&[
            ("x", &[("pool", Str("q".into())), ("window", Int(2))]),
            ("y", &[("pool", Str("q".into())), ("window", Int(1))]),
        ]);
        let changes = compare(&lane, &before, &after, &mut renames);
        assert_eq!(
            summary(&changes),
            [
                "changed x pool fine",
                "changed x window fine",
                "changed y pool breaking"
            ]
        );
        assert!(changes[0].reason.as_deref().unwrap().contains("`p` to `q`"));
        assert_eq!(changes[2].reason.as_deref(), Some("pool is API"));
    }

    #[test]
    fn a_renamed_entity_that_references_a_renamed_one_is_still_found() {
        // The lane's domain and its pool's name both changed.
        let lane = kind("lane", &["pool"], &[("pool", "pool")]);
        let mut renames = Renames::new();
        renames.insert("pool".into(), [("p".to_string(), "q".to_string())].into());
        let before = table(&[("x", &[("pool", Str("p".into())), ("name", Str("l".into()))])]);
        let after = table(&[("z", &[("pool", Str("q".into())), ("name", Str("l".into()))])]);
        let changes = compare(&lane, &before, &after, &mut renames);
        assert_eq!(
            summary(&changes),
            ["renamed x key breaking", "changed z pool fine"]
        );
    }

    #[test]
    fn a_value_only_one_side_has_is_a_change() {
        let pool = kind("pool", &[], &[]);
        let before = table(&[("a", &[("size", Int(3))])]);
        let after = table(&[("a", &[("size", Int(3)), ("note", Str("n".into()))])]);
        let changes = compare(&pool, &before, &after, &mut Renames::new());
        assert_eq!(summary(&changes), ["changed a note fine"]);
        assert_eq!(changes[0].before, None);
    }
}
