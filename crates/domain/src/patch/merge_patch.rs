//! RFC 7396 JSON Merge Patch, used for `metadata`.

use serde_json::Value;

/// Applies `patch` to `target` as RFC 7396 §2 describes.
///
/// An object patch merges recursively and `null` deletes a key; any other patch replaces the
/// target wholesale.
///
/// ```
/// use credvault_domain::patch::merge_patch::merge_patch;
/// use serde_json::json;
///
/// let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
/// merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}}));
/// assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
/// ```
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, patch_value) in patch_map {
        if patch_value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(
                target_map.entry(key.clone()).or_insert(Value::Null),
                patch_value,
            );
        }
    }
}
