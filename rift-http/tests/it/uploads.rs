//! Uploads: streamed to disk, limited, sniffed, served back safely, attachable only by the uploader.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::{Account, Reply, TestServer};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x02\0\0\0\x03\x08\x02\0\0\0rest of the image";

async fn upload(s: &TestServer, who: &Account, name: &str, mime: &str, bytes: Vec<u8>) -> Reply {
    let part = Part::bytes(bytes).file_name(name.to_owned()).mime_str(mime).unwrap();
    let response = s
        .http
        .post(s.url("/api/upload"))
        .bearer_auth(&who.token)
        .multipart(Form::new().part("file", part))
        .send();
    TestServer::reply(response.await.unwrap()).await
}

pub(crate) async fn uploads_round_trip_with_safe_headers(s: TestServer) {
    let ada = s.register("ada").await;
    let image = upload(&s, &ada, "../../cat.png", "text/plain", PNG.to_vec()).await.expect(201);
    assert_eq!(image["filename"], "cat.png");
    assert_eq!(image["content_type"], "image/png", "sniffed from the bytes, not the claim");
    assert_eq!(image["size"], PNG.len());
    assert_eq!((image["width"].as_i64(), image["height"].as_i64()), (Some(2), Some(3)));
    let url = image["url"].as_str().unwrap();
    assert!(url.starts_with("/files/") && url.ends_with("/cat.png"), "{url}");
    let response = s.http.get(s.url(url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);

    let html = upload(&s, &ada, "page.html", "text/html", b"<html><script>alert(1)</script>".to_vec())
        .await
        .expect(201);
    let response = s.http.get(s.url(html["url"].as_str().unwrap())).send().await.unwrap();
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let svg =
        upload(&s, &ada, "x.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec())
            .await
            .expect(201);
    let response = s.http.get(s.url(svg["url"].as_str().unwrap())).send().await.unwrap();
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));

    // A wrong secret or id is 404 in the error shape.
    let id = image["id"].as_str().unwrap();
    let wrong = format!("/files/{id}/00000000000000000000000000000000/cat.png");
    let reply = TestServer::reply(s.http.get(s.url(&wrong)).send().await.unwrap()).await;
    reply.expect_error(404, "unknown_upload");
    let reply = TestServer::reply(s.http.get(s.url("/files/not-an-id/x/y")).send().await.unwrap()).await;
    reply.expect_error(400, "invalid_path");
}

pub(crate) async fn upload_limits_and_errors(s: TestServer) {
    let ada = s.register("ada").await;
    // The test server allows 1 MiB.
    upload(&s, &ada, "big.bin", "application/octet-stream", vec![7; 1024 * 1024 + 1])
        .await
        .expect_error(413, "file_too_large");
    upload(&s, &ada, "ok.bin", "application/octet-stream", vec![7; 1024 * 1024]).await.expect(201);
    let response =
        s.http.post(s.url("/api/upload")).bearer_auth(&ada.token).json(&json!({})).send().await.unwrap();
    TestServer::reply(response).await.expect_error(400, "invalid_upload");
    let form = Form::new().text("other", "value");
    let response =
        s.http.post(s.url("/api/upload")).bearer_auth(&ada.token).multipart(form).send().await.unwrap();
    TestServer::reply(response).await.expect_error(400, "invalid_upload");
    let part = Part::bytes(PNG.to_vec()).file_name("x.png");
    let response =
        s.http.post(s.url("/api/upload")).multipart(Form::new().part("file", part)).send().await.unwrap();
    TestServer::reply(response).await.expect_error(401, "unauthenticated");
}

pub(crate) async fn attachments_and_avatars_belong_to_their_uploader(s: TestServer) {
    let ada = s.register("ada").await;
    let bob = s.register("bob").await;
    let (server, general) = s.server(&ada, "Lab").await;
    s.join(&ada, &server, &bob).await;
    let image = upload(&s, &ada, "cat.png", "image/png", PNG.to_vec()).await.expect(201);
    let text = upload(&s, &ada, "notes.txt", "text/plain", b"hello".to_vec()).await.expect(201);
    let path = format!("/api/channels/{general}/messages");
    s.post(&path, &bob, json!({ "content": "mine now", "attachment_ids": [image["id"]] }))
        .await
        .expect_error(400, "unknown_attachment");
    let sent = s
        .post(&path, &ada, json!({ "content": "", "attachment_ids": [image["id"], text["id"]] }))
        .await
        .expect(201);
    let attachments: Vec<&Value> = sent["attachments"].as_array().unwrap().iter().collect();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["id"], image["id"]);
    s.post(&path, &ada, json!({ "content": "again", "attachment_ids": [image["id"]] }))
        .await
        .expect_error(400, "unknown_attachment");
    assert_eq!(s.get("/api/search?q=&has=attachment", &bob).await.expect(200).as_array().unwrap().len(), 1);

    s.patch("/api/users/me", &bob, json!({ "avatar_id": image["id"] }))
        .await
        .expect_error(400, "invalid_avatar");
    s.patch("/api/users/me", &ada, json!({ "avatar_id": text["id"] }))
        .await
        .expect_error(400, "invalid_avatar");
    let avatar = upload(&s, &ada, "me.png", "image/png", PNG.to_vec()).await.expect(201);
    let me = s.patch("/api/users/me", &ada, json!({ "avatar_id": avatar["id"] })).await.expect(200);
    assert_eq!(me["avatar_url"], avatar["url"]);
}
