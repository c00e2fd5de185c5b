//! TLS to PostgreSQL against a private cluster that accepts only TLS, with a test CA and server
//! certificate made here by `openssl`: `require` works, `verify-full` with the right CA and host
//! name works, the wrong CA or host name fails clearly, and nothing falls back to plain text.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a failed test")]

use std::path::Path;
use std::process::Command;

use casework_adapters::postgres::tls::establish;
use casework_adapters::testing::PrivateCluster;
use diesel::QueryableByName;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A CA, and a server certificate it signs for `db.internal` only.
fn certificates(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=Casework test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=db.internal",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:db.internal\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
}

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_is_required_verified_and_never_downgraded() {
    let cluster = PrivateCluster::start();
    let dir = cluster.root().to_path_buf();
    certificates(&dir);
    for file in ["server.key", "server.crt"] {
        cluster.hand_over(&dir.join(file));
    }
    // Plain connections are refused: only TLS gets in.
    cluster.set_hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\n");
    cluster.restart_with(&format!(
        "-c ssl=on -c ssl_cert_file='{}' -c ssl_key_file='{}'",
        dir.join("server.crt").display(),
        dir.join("server.key").display()
    ));
    let base = cluster.url();
    let with = |query: &str| format!("{base}?{query}");
    let ca = dir.join("ca.crt").display().to_string();
    let other = dir.join("other-ca.crt").display().to_string();

    assert!(establish(&with("sslmode=disable")).await.is_err(), "the server refuses plain text");
    for query in [
        "sslmode=require".to_owned(),
        "sslmode=prefer".to_owned(),
        format!("sslmode=verify-ca&sslrootcert={ca}"),
        format!("sslmode=verify-full&sslrootcert={ca}&hostaddr=127.0.0.1"),
    ] {
        // verify-full connects to 127.0.0.1 under the name the certificate carries.
        let url = if query.starts_with("sslmode=verify-full") {
            format!("{}?{query}", base.replace("127.0.0.1", "db.internal"))
        } else {
            with(&query)
        };
        let mut connection = establish(&url).await.unwrap_or_else(|e| panic!("{query}: {e}"));
        let row: Encrypted = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .get_result(&mut connection)
            .await
            .unwrap();
        assert!(row.ssl, "{query}: the session is encrypted");
    }
    let wrong_ca = establish(&with(&format!("sslmode=verify-ca&sslrootcert={other}"))).await.err().unwrap().to_string();
    assert!(wrong_ca.to_lowercase().contains("certificate"), "{wrong_ca}");
    // The certificate names db.internal, not 127.0.0.1.
    let wrong_host =
        establish(&with(&format!("sslmode=verify-full&sslrootcert={ca}"))).await.err().unwrap().to_string();
    assert!(wrong_host.to_lowercase().contains("certificate"), "{wrong_host}");
    assert!(establish(&with("sslmode=allow")).await.is_err(), "an sslmode that may downgrade is refused");
}
