//! The fake Discord's HTTP side: REST routes over the world, the CDN, and READY for the gateway.

// Early answers travel as `Err(Response)` so `?` can stop a handler; a test fake does not care
// about the size of its error path.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State as AxumState};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::rest::{error, percent_decode};
use super::world::{NewMessage, World, iso, now_ms, parse_emoji};
use super::{Echo, FailAt, RecordedRequest, State};

/// Binds 127.0.0.1 and serves; returns the base URL and the server task.
pub(crate) async fn serve(state: Arc<State>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(handle).with_state(state);
    let server = tokio::spawn(async move {
        // No Nagle: small answers go out at once (the paused clock races ahead of delayed ACKs).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, app).await;
    });
    (url, server)
}

/// READY (and, for a bot, one GUILD_CREATE per guild) for an IDENTIFY, or close 4004.
pub(crate) fn ready(
    state: &State,
    identify: &Value,
    session: &str,
    resume: &str,
) -> Result<Vec<(String, Value)>, u16> {
    let world = state.world.lock().unwrap();
    let token = identify["token"].as_str().unwrap_or_default();
    if token != world.account.token {
        return Err(4004);
    }
    let intents = identify["intents"].as_u64();
    if world.account.bot && intents.is_none() {
        // Intents are required since v8; Discord closes 4013 ("invalid intents").
        return Err(4013);
    }
    state.control.lock().unwrap().intents = if world.account.bot { intents } else { None };
    let me = world.me();
    let mut user = world.user(me);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["flags"] = json!(0);
    if world.account.bot {
        let stubs: Vec<Value> =
            world.guilds.keys().map(|id| json!({"id": id.to_string(), "unavailable": true})).collect();
        let ready = json!({
            "v": 10, "user": user, "guilds": stubs, "private_channels": [], "session_id": session,
            "session_type": "normal", "resume_gateway_url": resume, "shard": [0, 1],
            "application": {"id": me.to_string(), "flags": 0}, "user_settings": {}, "relationships": [],
            "presences": [], "geo_ordered_rtc_regions": [], "guild_join_requests": [],
        });
        let mut events = vec![("READY".to_owned(), ready)];
        for id in world.guilds.keys() {
            let mut guild = world.whole_guild(*id).unwrap();
            if intents.unwrap_or(0) & (1 << 1) == 0 {
                // Without GUILD_MEMBERS a bot sees only itself among the members.
                let mine = json!(me.to_string());
                guild["members"].as_array_mut().unwrap().retain(|m| m["user"]["id"] == mine);
            }
            events.push(("GUILD_CREATE".to_owned(), guild));
        }
        Ok(events)
    } else {
        let guilds: Vec<Value> = world.guilds.keys().filter_map(|id| world.whole_guild(*id)).collect();
        let ready = json!({
            "v": 10, "user": user, "guilds": guilds, "private_channels": world.private_channels(),
            "session_id": session, "session_type": "normal", "resume_gateway_url": resume,
            "relationships": [], "users": [], "user_settings": {}, "presences": [],
            "read_state": [], "user_guild_settings": [], "guild_join_requests": [],
            "geo_ordered_rtc_regions": [], "connected_accounts": [], "consents": {},
            "country_code": "US", "auth_session_id_hash": "fake", "analytics_token": "fake",
        });
        Ok(vec![("READY".to_owned(), ready)])
    }
}

/// Adds or removes a reaction and returns the event Discord would dispatch (none when nothing
/// changed).
pub(crate) fn reaction_events(
    w: &mut World,
    channel: u64,
    message: u64,
    user: u64,
    emoji: &Value,
    on: bool,
) -> Vec<(&'static str, Value)> {
    if !w.set_reaction(channel, message, user, emoji, on) {
        return Vec::new();
    }
    let mut event = json!({
        "user_id": user.to_string(), "channel_id": channel.to_string(),
        "message_id": message.to_string(), "emoji": emoji, "burst": false, "type": 0,
    });
    if let Some(guild) = w.guild_of(channel) {
        event["guild_id"] = json!(guild.to_string());
        if on && let Some(mut member) = w.member(guild, user) {
            member.as_object_mut().unwrap().remove("guild_id");
            event["member"] = member;
        }
    }
    if on {
        let author = w.messages[&channel][&message].author;
        event["message_author_id"] = json!(author.to_string());
        vec![("MESSAGE_REACTION_ADD", event)]
    } else {
        vec![("MESSAGE_REACTION_REMOVE", event)]
    }
}

fn json_response(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

fn ok(value: Value) -> Response {
    json_response(StatusCode::OK, value)
}

fn invalid_form(field: &str, code: &str, message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"code": 50035, "message": "Invalid Form Body",
               "errors": {field: {"_errors": [{"code": code, "message": message}]}}}),
    )
}

fn param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| Some(percent_decode(pair.strip_prefix(key)?.strip_prefix('=')?)))
}

/// A numeric query parameter: `Ok(None)` when absent, `Err` (a 400 answer) when not a number.
fn number(query: &str, key: &str) -> Result<Option<u64>, Response> {
    match param(query, key) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            invalid_form(key, "NUMBER_TYPE_COERCE", &format!("Value \"{text}\" is not snowflake."))
        }),
    }
}

/// A `limit` in `min..=max`, `default` when absent.
fn limit(query: &str, default: u64, max: u64) -> Result<usize, Response> {
    let value = number(query, "limit")?.unwrap_or(default);
    if !(1..=max).contains(&value) {
        let message = format!("Int value should be less than or equal to {max}.");
        return Err(invalid_form("limit", "NUMBER_TYPE_MAX", &message));
    }
    Ok(value as usize)
}

/// The parsed body of a request: JSON, or multipart `payload_json` with its files.
struct Body {
    json: Option<Value>,
    files: Vec<(String, String, Vec<u8>)>,
}

async fn read_body(request: Request) -> Body {
    let is_multipart = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if is_multipart {
        let mut json = None;
        let mut files = Vec::new();
        if let Ok(mut multipart) = Multipart::from_request(request, &()).await {
            while let Ok(Some(field)) = multipart.next_field().await {
                let name = field.name().unwrap_or_default().to_owned();
                let filename = field.file_name().map(str::to_owned).unwrap_or_else(|| name.clone());
                let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
                let bytes = field.bytes().await.unwrap_or_default();
                if name == "payload_json" {
                    json = serde_json::from_slice(&bytes).ok();
                } else {
                    files.push((filename, content_type, bytes.to_vec()));
                }
            }
        }
        Body { json, files }
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), 8 << 20).await.unwrap_or_else(|_| Bytes::new());
        Body { json: serde_json::from_slice(&bytes).ok(), files: Vec::new() }
    }
}

async fn handle(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();

    if let Some(file) = path.strip_prefix("/cdn") {
        let world = state.world.lock().unwrap();
        let status = if world.files.contains_key(file) { 200 } else { 404 };
        state.control.lock().unwrap().downloads.push((file.to_owned(), status));
        return match world.files.get(file) {
            Some((content_type, bytes)) => {
                let mut response = (StatusCode::OK, bytes.clone()).into_response();
                if let Ok(value) = HeaderValue::from_str(content_type) {
                    response.headers_mut().insert("content-type", value);
                }
                response
            }
            None => (StatusCode::NOT_FOUND, "404: Not Found").into_response(),
        };
    }
    let Some(api_path) = path.strip_prefix("/api/v10/") else {
        return error(StatusCode::NOT_FOUND, 0, "404: Not Found");
    };
    let segments: Vec<String> = api_path.split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let authorization =
        request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = read_body(request).await;
    let index = {
        let mut control = state.control.lock().unwrap();
        control.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            authorization: authorization.clone(),
            body: body.json.clone(),
            status: 0,
        });
        let count = control.requests.len();
        let faults: Vec<_> = control.faults.iter().filter(|(n, _)| *n == count).map(|(_, f)| *f).collect();
        control.faults.retain(|(n, _)| *n != count);
        drop(control);
        for fault in faults {
            state.gateway.fault(fault);
        }
        count - 1
    };
    let gated = state.control.lock().unwrap().limiter.gate(&method, &path, &segments);
    let response = match gated {
        Err(response) => response,
        Ok(limit_headers) => {
            let expected = state.world.lock().unwrap().account.authorization();
            let public = matches!(segments.as_slice(), ["gateway"]);
            let mut response = if !public && authorization.as_deref() != Some(expected.as_str()) {
                error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
            } else {
                route(&state, &method, &segments, &query, body).await
            };
            response.headers_mut().extend(limit_headers);
            response
        }
    };
    state.control.lock().unwrap().requests[index].status = response.status().as_u16();
    response
}

fn id(text: &str) -> u64 {
    text.parse().unwrap_or(0)
}

/// Why the account may not use a channel's messages: unknown (404) or unreadable (403).
fn check_channel(world: &World, channel: u64) -> Result<(), Response> {
    match world.channels.get(&channel) {
        None => Err(error(StatusCode::NOT_FOUND, 10003, "Unknown Channel")),
        Some(c) if c.hidden => Err(error(StatusCode::FORBIDDEN, 50001, "Missing Access")),
        Some(c) if c.guild.is_none() && !c.recipients.contains(&world.me()) => {
            Err(error(StatusCode::FORBIDDEN, 50001, "Missing Access"))
        }
        Some(_) => Ok(()),
    }
}

async fn route(state: &Arc<State>, method: &Method, segments: &[&str], query: &str, body: Body) -> Response {
    match (method.as_str(), segments) {
        ("POST", ["channels", channel, "messages"]) => return create_message(state, id(channel), body).await,
        ("PATCH", ["channels", channel, "messages", message]) => {
            return edit_message(state, id(channel), id(message), body);
        }
        ("DELETE", ["channels", channel, "messages", message]) => {
            return delete_message(state, id(channel), id(message));
        }
        ("PUT" | "DELETE", ["channels", channel, "messages", message, "reactions", emoji, "@me"]) => {
            return react(state, id(channel), id(message), emoji, method == Method::PUT);
        }
        ("PUT" | "DELETE", ["channels", channel, "pins", message]) => {
            return pin(state, id(channel), id(message), method == Method::PUT);
        }
        _ => {}
    }
    let mut world = state.world.lock().unwrap();
    let w = &mut *world;
    let me = w.me();
    let result: Result<Response, Response> = (|| match (method.as_str(), segments) {
        ("GET", ["gateway"]) => Ok(ok(json!({"url": state.gateway.url()}))),
        ("GET", ["gateway", "bot"]) => {
            if !w.account.bot {
                return Err(error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"));
            }
            Ok(ok(json!({"url": state.gateway.url(), "shards": 1, "session_start_limit":
                {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}})))
        }
        ("GET", ["users", "@me"]) => {
            let mut user = w.user(me);
            user["verified"] = json!(true);
            user["mfa_enabled"] = json!(false);
            user["locale"] = json!("en-US");
            Ok(ok(user))
        }
        ("GET", ["users", "@me", "guilds"]) => {
            let after = number(query, "after")?.unwrap_or(0);
            let before = number(query, "before")?.unwrap_or(u64::MAX);
            let limit = limit(query, 200, 200)?;
            let guilds: Vec<Value> = w
                .guilds
                .iter()
                .filter(|(id, g)| **id > after && **id < before && g.members.contains_key(&me))
                .take(limit)
                .map(|(id, g)| {
                    json!({"id": id.to_string(), "name": g.base["name"], "icon": g.base["icon"],
                           "banner": null, "owner": g.base["owner_id"] == json!(me.to_string()),
                           "permissions": "2251799813685247", "features": []})
                })
                .collect();
            Ok(ok(json!(guilds)))
        }
        ("GET", ["users", "@me", "channels"]) => {
            // Bots cannot list their DMs: Discord answers an empty list.
            let channels = if w.account.bot { Vec::new() } else { w.private_channels() };
            Ok(ok(json!(channels)))
        }
        ("POST", ["users", "@me", "channels"]) => {
            let json = body.json.unwrap_or(Value::Null);
            let recipient = json["recipient_id"].as_str().map(id).or_else(|| json["recipient_id"].as_u64());
            let Some(recipient) = recipient.filter(|r| w.users.contains_key(r)) else {
                return Err(error(StatusCode::BAD_REQUEST, 50033, "Invalid Recipient(s)"));
            };
            let existing = w
                .channels
                .iter()
                .find(|(_, c)| c.base["type"] == 1 && c.recipients.contains(&recipient))
                .map(|(id, _)| *id);
            let channel = match existing {
                Some(channel) => channel,
                None => {
                    let channel = w.mint(None);
                    let base = json!({"id": channel.to_string(), "type": 1, "flags": 0});
                    let c = super::world::ChannelW {
                        base,
                        guild: None,
                        recipients: vec![me, recipient],
                        hidden: false,
                    };
                    w.channels.insert(channel, c);
                    channel
                }
            };
            Ok(ok(w.channel(channel, false).unwrap()))
        }
        ("GET", ["users", user]) => match w.users.contains_key(&id(user)) {
            true => Ok(ok(w.user(id(user)))),
            false => Err(error(StatusCode::NOT_FOUND, 10013, "Unknown User")),
        },
        ("GET", ["guilds", guild, rest @ ..]) => {
            let guild = id(guild);
            let Some(g) = w.guilds.get(&guild).filter(|g| g.members.contains_key(&me)) else {
                return Err(error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"));
            };
            match rest {
                [] => Ok(ok(w.guild(guild).unwrap())),
                ["channels"] => Ok(ok(json!(w.guild_channels(guild, true)))),
                ["roles"] => Ok(ok(json!(w.roles(guild)))),
                ["members"] => {
                    if !w.account.bot {
                        return Err(error(StatusCode::FORBIDDEN, 50001, "Missing Access"));
                    }
                    let after = number(query, "after")?.unwrap_or(0);
                    let limit = limit(query, 1, 1000)?;
                    let members: Vec<Value> = g
                        .members
                        .range(after + 1..)
                        .take(limit)
                        .filter_map(|(u, _)| w.member(guild, *u))
                        .collect();
                    Ok(ok(json!(members)))
                }
                ["members", user] => match w.member(guild, id(user)) {
                    Some(member) => Ok(ok(member)),
                    None => Err(error(StatusCode::NOT_FOUND, 10007, "Unknown Member")),
                },
                _ => Err(error(StatusCode::NOT_FOUND, 0, "404: Not Found")),
            }
        }
        ("GET", ["channels", channel]) => {
            let channel = id(channel);
            match w.channels.get(&channel) {
                None => Err(error(StatusCode::NOT_FOUND, 10003, "Unknown Channel")),
                Some(c) if c.hidden => Err(error(StatusCode::FORBIDDEN, 50001, "Missing Access")),
                Some(_) => Ok(ok(w.channel(channel, true).unwrap())),
            }
        }
        ("GET", ["channels", channel, "pins"]) => {
            let channel = id(channel);
            check_channel(w, channel)?;
            Ok(ok(json!(w.pinned(channel))))
        }
        ("GET", ["channels", channel, "messages"]) => {
            let channel = id(channel);
            check_channel(w, channel)?;
            let limit = limit(query, 50, 100)?;
            let ids: Vec<u64> =
                w.messages.get(&channel).map(|m| m.keys().copied().collect()).unwrap_or_default();
            let page: Vec<u64> = if let Some(before) = number(query, "before")? {
                ids.iter().rev().filter(|m| **m < before).take(limit).copied().collect()
            } else if let Some(after) = number(query, "after")? {
                let mut page: Vec<u64> = ids.iter().filter(|m| **m > after).take(limit).copied().collect();
                page.reverse();
                page
            } else if let Some(around) = number(query, "around")? {
                let at = ids.partition_point(|m| *m < around);
                let start = at.saturating_sub(limit / 2);
                let mut page: Vec<u64> = ids.iter().skip(start).take(limit).copied().collect();
                page.reverse();
                page
            } else {
                ids.iter().rev().take(limit).copied().collect()
            };
            Ok(ok(page.into_iter().filter_map(|m| w.message(channel, m)).collect()))
        }
        ("GET", ["channels", channel, "messages", message]) => {
            let channel = id(channel);
            check_channel(w, channel)?;
            match w.message(channel, id(message)) {
                Some(message) => Ok(ok(message)),
                None => Err(error(StatusCode::NOT_FOUND, 10008, "Unknown Message")),
            }
        }
        ("GET", ["channels", channel, "messages", message, "reactions", emoji]) => {
            let channel = id(channel);
            check_channel(w, channel)?;
            let Some(emoji) = parse_emoji(emoji) else {
                return Err(error(StatusCode::BAD_REQUEST, 10014, "Unknown Emoji"));
            };
            let after = number(query, "after")?.unwrap_or(0);
            let limit = limit(query, 25, 100)?;
            let Some(users) = w.reaction_users(channel, id(message), &emoji) else {
                return Err(error(StatusCode::NOT_FOUND, 10008, "Unknown Message"));
            };
            Ok(ok(users.into_iter().filter(|u| *u > after).take(limit).map(|u| w.user(u)).collect()))
        }
        ("POST", ["channels", channel, "typing"]) => {
            check_channel(w, id(channel))?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(error(StatusCode::NOT_FOUND, 0, "404: Not Found")),
    })();
    result.unwrap_or_else(|response| response)
}

fn post_failure(state: &State, at: FailAt) -> Option<u16> {
    let mut control = state.control.lock().unwrap();
    let failure = control.post_failures.iter_mut().find(|(n, a, _)| *n > 0 && *a == at)?;
    failure.0 -= 1;
    Some(failure.2)
}

fn server_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, json!({"message": "500: Internal Server Error", "code": 0}))
}

/// `POST /channels/{id}/messages`: validation, `enforce_nonce`, scripted failures, the echo.
async fn create_message(state: &Arc<State>, channel: u64, body: Body) -> Response {
    let json = body.json.clone().unwrap_or(Value::Null);
    let nonce = match &json["nonce"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(nonce) = &nonce {
        state.control.lock().unwrap().nonces.push(nonce.clone());
        if nonce.chars().count() > 25 {
            return invalid_form("nonce", "BASE_TYPE_BAD_LENGTH", "Must be 25 or fewer in length.");
        }
    }
    let content = json["content"].as_str().unwrap_or_default().to_owned();
    if content.chars().count() > 2000 {
        return invalid_form("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.");
    }
    let embeds: Vec<Value> = json["embeds"].as_array().cloned().unwrap_or_default();
    if content.is_empty() && embeds.is_empty() && body.files.is_empty() && json["sticker_ids"].is_null() {
        return error(StatusCode::BAD_REQUEST, 50006, "Cannot send an empty message");
    }
    {
        let world = state.world.lock().unwrap();
        if let Err(response) = check_channel(&world, channel) {
            return response;
        }
        let kind = world.channels[&channel].base["type"].as_u64().unwrap_or(0);
        // Voice and stage channels have a text chat; categories have none, forums take posts.
        if matches!(kind, 4 | 15) {
            return error(StatusCode::BAD_REQUEST, 50008, "Cannot send messages in a non-text channel");
        }
    }
    if let Some(status) = post_failure(state, FailAt::BeforeCreate) {
        return server_error(status);
    }
    let enforce = json["enforce_nonce"].as_bool().unwrap_or(false);
    let me = state.world.lock().unwrap().me();
    if enforce && let Some(nonce) = &nonce {
        let control = state.control.lock().unwrap();
        let window = control.nonce_window;
        if let Some((channel, message, at)) = control.nonce_index.get(&(me, nonce.clone())).copied()
            && Instant::now() - at < window
        {
            drop(control);
            let original = state.world.lock().unwrap().created_message(channel, message, false);
            if let Some(original) = original {
                return ok(original);
            }
        }
    }
    let (message_id, rest_form, event) = {
        let mut world = state.world.lock().unwrap();
        let mut new = NewMessage::new(me, content);
        new.embeds = embeds;
        new.attachments = body.files;
        let reply = json["message_reference"]["message_id"].as_str().map(id);
        if let Some(reply) = reply {
            let exists = world.messages.get(&channel).is_some_and(|m| m.contains_key(&reply));
            let fail = json["message_reference"]["fail_if_not_exists"].as_bool().unwrap_or(true);
            if !exists && fail {
                return invalid_form("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message");
            }
            new.reply_to = exists.then_some(reply);
        }
        let id = world.insert_message(channel, new, nonce.clone().map(Value::String));
        (
            id,
            world.created_message(channel, id, false).unwrap(),
            world.created_message(channel, id, true).unwrap(),
        )
    };
    if let Some(nonce) = &nonce {
        state
            .control
            .lock()
            .unwrap()
            .nonce_index
            .insert((me, nonce.clone()), (channel, message_id, Instant::now()));
    }
    let echo = state.control.lock().unwrap().echo;
    match echo {
        Echo::BeforeResponse => {
            state.dispatch(vec![("MESSAGE_CREATE", event)]);
            state.gateway.flushed().await;
        }
        Echo::AfterResponse(delay) => {
            let state = state.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                state.dispatch(vec![("MESSAGE_CREATE", event)]);
            });
        }
    }
    if let Some(status) = post_failure(state, FailAt::AfterCreate) {
        return server_error(status);
    }
    let stall = {
        let mut control = state.control.lock().unwrap();
        control.post_stalls.iter_mut().find(|(n, _)| *n > 0).map(|stall| {
            stall.0 -= 1;
            stall.1
        })
    };
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    ok(rest_form)
}

fn edit_message(state: &State, channel: u64, message: u64, body: Body) -> Response {
    let json = body.json.unwrap_or(Value::Null);
    let event = {
        let mut world = state.world.lock().unwrap();
        if let Err(response) = check_channel(&world, channel) {
            return response;
        }
        let me = world.me();
        let Some(m) = world.messages.get_mut(&channel).and_then(|m| m.get_mut(&message)) else {
            return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
        };
        if m.author != me {
            return error(StatusCode::FORBIDDEN, 50005, "Cannot edit a message authored by another user");
        }
        if let Some(content) = json["content"].as_str() {
            if content.chars().count() > 2000 {
                return invalid_form("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.");
            }
            m.base["content"] = json!(content);
        }
        if let Some(embeds) = json.get("embeds") {
            m.base["embeds"] = embeds.clone();
        }
        m.base["edited_timestamp"] = json!(iso(now_ms()));
        world.gateway_message(channel, message).unwrap()
    };
    let rest_form = state.world.lock().unwrap().message(channel, message).unwrap();
    state.dispatch(vec![("MESSAGE_UPDATE", event)]);
    ok(rest_form)
}

fn delete_message(state: &State, channel: u64, message: u64) -> Response {
    let event = {
        let mut world = state.world.lock().unwrap();
        if let Err(response) = check_channel(&world, channel) {
            return response;
        }
        let me = world.me();
        let is_dm = world.guild_of(channel).is_none();
        let Some(author) = world.messages.get(&channel).and_then(|m| m.get(&message)).map(|m| m.author)
        else {
            return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
        };
        if is_dm && author != me {
            return error(StatusCode::FORBIDDEN, 50003, "Cannot execute action on a DM channel");
        }
        world.messages.get_mut(&channel).unwrap().remove(&message);
        let mut event = json!({"id": message.to_string(), "channel_id": channel.to_string()});
        if let Some(guild) = world.guild_of(channel) {
            event["guild_id"] = json!(guild.to_string());
        }
        event
    };
    state.dispatch(vec![("MESSAGE_DELETE", event)]);
    StatusCode::NO_CONTENT.into_response()
}

fn react(state: &State, channel: u64, message: u64, emoji: &str, on: bool) -> Response {
    let Some(emoji) = parse_emoji(emoji) else {
        return error(StatusCode::BAD_REQUEST, 10014, "Unknown Emoji");
    };
    let events = {
        let mut world = state.world.lock().unwrap();
        if let Err(response) = check_channel(&world, channel) {
            return response;
        }
        if !world.messages.get(&channel).is_some_and(|m| m.contains_key(&message)) {
            return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
        }
        let me = world.me();
        reaction_events(&mut world, channel, message, me, &emoji, on)
    };
    state.dispatch(events);
    StatusCode::NO_CONTENT.into_response()
}

fn pin(state: &State, channel: u64, message: u64, on: bool) -> Response {
    let events = {
        let mut world = state.world.lock().unwrap();
        if let Err(response) = check_channel(&world, channel) {
            return response;
        }
        match world.set_pin(channel, message, on) {
            Some(events) => events,
            None => return error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
        }
    };
    state.dispatch(events);
    StatusCode::NO_CONTENT.into_response()
}
