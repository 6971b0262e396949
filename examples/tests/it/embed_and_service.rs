//! The examples that run by themselves: their whole output is checked.

use crate::Running;

#[tokio::test]
async fn embed_serves_the_api_inside_the_application() {
    let output = Running::start("embed", &[]).finish().await;
    assert_eq!(output.len(), 1, "{output:#?}");
    assert!(output[0].starts_with("GET http://127.0.0.1:"), "{output:#?}");
    assert!(
        output[0].contains(r#""status":"ok""#) && output[0].contains(r#""database":"sqlite""#),
        "{output:#?}"
    );
}

#[tokio::test]
async fn service_runs_without_http() {
    let output = Running::start("service", &[]).finish().await;
    assert_eq!(output.len(), 5, "{output:#?}");
    assert_eq!(output[0], "ada made Analytical Engines with #notes; grace joined");
    assert_eq!(output[1], "event: MessageCreate in #notes by ada: The engine weaves algebraic patterns");
    assert!(output[2].starts_with("refused: empty_message ("), "{output:#?}");
    assert_eq!(output[3], r#"search "patterns": ["The engine weaves algebraic patterns"]"#);
    assert_eq!(output[4], r#"search "weaves from:grace": ["Like the Jacquard loom weaves flowers"]"#);
}
