//! Compiles the built web client into the binary, so that one file is the whole server.
//!
//! A release build embeds `client/dist` (when it was built: `npm run build` in `client/`, which
//! `scripts/start` runs); a debug build embeds nothing and serves `CLIENT_DIR` from disk as
//! before. `RIFT_EMBED_CLIENT_DIR=<dir>` embeds another directory in any build (a relative path is
//! taken from the workspace root), `RIFT_EMBED_CLIENT_DIR=off` embeds nothing.
//!
//! The output is `$OUT_DIR/embedded_client.rs`: `None`, or `Some(&[...])` of
//! `rift_http::EmbeddedFile::new(path, include_bytes!(file), gzip)`, where `gzip` is a copy
//! compressed here (text-like files of 256 bytes or more, kept when at least 10 % smaller). It
//! also writes `fixture_client.rs` from `tests/fixtures/client`, which the unit tests serve.

use std::io::Write;
use std::path::{Path, PathBuf};

const VARIABLE: &str = "RIFT_EMBED_CLIENT_DIR";

fn main() {
    println!("cargo:rerun-if-env-changed={VARIABLE}");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().expect("the workspace root").to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let release = std::env::var("PROFILE").as_deref() == Ok("release");

    let chosen = match std::env::var(VARIABLE) {
        Ok(value) if value == "off" => None,
        Ok(value) if !value.is_empty() => Some((workspace.join(value), true)),
        _ if release => Some((workspace.join("client").join("dist"), false)),
        _ => None,
    };
    let table = match chosen {
        None => "None".to_owned(),
        Some((dir, named)) => {
            // Watched even while missing, so a client built later is picked up.
            println!("cargo:rerun-if-changed={}", dir.display());
            if dir.join("index.html").is_file() {
                generate(&dir, &out.join("client-gz"))
            } else if named {
                panic!("{VARIABLE}: {} holds no index.html", dir.display());
            } else {
                println!(
                    "cargo:warning=client/dist is not built: this rift-server carries no web client \
                     (run `npm ci && npm run build` in client/, or ./scripts/start)"
                );
                "None".to_owned()
            }
        }
    };
    write(&out.join("embedded_client.rs"), &table);

    let fixture = manifest.join("tests").join("fixtures").join("client");
    println!("cargo:rerun-if-changed={}", fixture.display());
    write(&out.join("fixture_client.rs"), &generate(&fixture, &out.join("fixture-gz")));
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// `Some(&[...])` over every file under `dir`, in path order.
fn generate(dir: &Path, gz_dir: &Path) -> String {
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    std::fs::create_dir_all(gz_dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", gz_dir.display()));
    let mut table = String::from("Some(&[\n");
    for (index, (relative, path)) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let gzip = compressed(relative, &bytes).map(|gz| {
            let gz_path = gz_dir.join(format!("{index}.gz"));
            write_bytes(&gz_path, &gz);
            format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
        });
        table.push_str(&format!(
            "    rift_http::EmbeddedFile::new({relative:?}, include_bytes!({:?}), {}),\n",
            path.display().to_string(),
            gzip.unwrap_or_else(|| "None".to_owned())
        ));
    }
    table.push_str("])\n");
    table
}

fn write_bytes(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Every regular file under `dir` as (`/`-separated path relative to `root`, full path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())).path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.is_file() {
            let relative = path.strip_prefix(root).expect("under the root");
            let parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            files.push((parts.join("/"), path));
        }
    }
}

/// A gzip copy of a text-like file, when it pays.
fn compressed(path: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    const TEXT: &[&str] =
        &["html", "js", "mjs", "css", "svg", "json", "map", "txt", "xml", "webmanifest", "wasm", "ico"];
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    if bytes.len() < 256 || !TEXT.contains(&extension.as_str()) {
        return None;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    let gz = encoder.finish().ok()?;
    (gz.len() * 10 <= bytes.len() * 9).then_some(gz)
}
