//! The metadata merge patch of the OAuth app form.

use serde_json::{Map, Value, json};

use super::merge_patch_between;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(object) => object,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn the_merge_patch_between_two_objects_turns_one_into_the_other() {
    let stored = object(json!({"env": "prod", "gone": 1, "nested": {"a": 1, "b": 2}, "same": [1]}));
    let wanted = object(json!({"env": "test", "nested": {"a": 1}, "same": [1]}));
    let patch = merge_patch_between(&stored, &wanted);
    assert_eq!(
        Value::Object(patch),
        json!({"env": "test", "gone": null, "nested": {"b": null}})
    );
}

#[test]
fn an_unchanged_object_needs_an_empty_patch() {
    let stored = object(json!({"env": "prod", "nested": {"a": 1}}));
    assert!(merge_patch_between(&stored, &stored.clone()).is_empty());
}
