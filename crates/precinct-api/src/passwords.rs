//! Passwords: argon2id hashes, one-time passwords for new accounts and
//! resets, and the threads password checks run on.

use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use precinct_domain::user::Username;
use std::sync::Mutex;

/// Hashes a password with argon2id and a fresh salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Letters and digits that cannot be mistaken for one another when read
/// out or copied from paper (no 0/O, 1/I/L).
pub(crate) const ONE_TIME_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A one-time password: 12 characters from 31 (59 bits), as XXXX-XXXX-XXXX.
pub fn new_one_time_password() -> String {
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ONE_TIME_ALPHABET[usize::from(*b) % ONE_TIME_ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Hashes a one-time password. A random password of 59 bits needs no slow
/// hash to be safe from guessing, and it lives only until the first login
/// replaces it; so argon2id runs with small parameters here, and an import
/// of thousands of accounts takes a second, not minutes. The PHC string
/// carries its parameters, so login verifies it like any other.
pub fn hash_one_time_password(password: &str) -> String {
    let params = argon2::Params::new(256, 1, 1, None).expect("valid argon2 parameters");
    let hasher = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    hasher
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing a short password works")
        .to_string()
}

/// One-time passwords for new accounts: what to hand out (username,
/// password) and what the store keeps.
pub fn issue_one_time_passwords(
    usernames: &[Username],
) -> (Vec<(Username, String)>, precinct_storage::InitialPasswords) {
    let mut handed_out = Vec::with_capacity(usernames.len());
    let mut passwords = precinct_storage::InitialPasswords {
        must_change: true,
        ..Default::default()
    };
    for username in usernames {
        let password = new_one_time_password();
        passwords.hashes.insert(
            username.as_str().to_owned(),
            hash_one_time_password(&password),
        );
        handed_out.push((username.clone(), password));
    }
    (handed_out, passwords)
}

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

type HashJob = Box<dyn FnOnce() + Send>;

/// A few threads of their own that compute password hashes, one at a time
/// each; requests queue for them. Each argon2 check takes 19 MiB: run on
/// the async runtime's blocking pool, a storm of logins grew the server by
/// gigabytes (a thread, and an allocator arena keeping its 19 MiB, per
/// check at once). Here memory stays at a few threads' worth, and the other
/// cores keep serving everything else.
#[derive(Debug)]
pub struct HashPool {
    jobs: Mutex<std::sync::mpsc::Sender<HashJob>>,
}

impl HashPool {
    pub fn new(threads: usize) -> HashPool {
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = std::sync::Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    loop {
                        // The pool's sender is gone with its state: stop.
                        let Ok(job) = queue.lock().expect("hash queue").recv() else {
                            return;
                        };
                        job();
                    }
                })
                .expect("a hashing thread starts");
        }
        HashPool {
            jobs: Mutex::new(jobs),
        }
    }

    /// Runs `work` on one of the pool's threads when one is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .lock()
            .expect("hash queue")
            .send(job)
            .map_err(|_| ApiError::internal())?;
        result.await.map_err(|_| ApiError::internal())
    }
}
