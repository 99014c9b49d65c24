//! Console users and sessions, the same SQL on both backends (see `store/users.rs`).

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, DbRow, corrupt, insert_audit};
use crate::domain::{Role, Timestamp};
use crate::store::{
    NewAuditEntry, NewSession, NewUser, Result, SessionRecord, UserRecord, UserStore,
};
use crate::store::{join_communes, split_communes};

/// The user columns every read selects, spliced into statements with `concat!` (sqlx takes
/// only literal SQL).
macro_rules! user_columns {
    () => {
        "u.id, u.login, u.role, u.communes, u.password_hash, u.totp_secret, u.created_at, u.disabled_at"
    };
}

fn user_from_row(row: &DbRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        role: row
            .try_get::<String, _>("role")?
            .parse::<Role>()
            .map_err(corrupt)?,
        communes: split_communes(&row.try_get::<String, _>("communes")?)?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
    })
}

#[async_trait]
impl UserStore for Backend {
    async fn create_user(&self, user: NewUser, audit: NewAuditEntry) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "insert into console_users (login, role, communes, password_hash, created_at)
             values ($1, $2, $3, $4, $5)
             on conflict (login) do nothing returning id",
        )
        .bind(&user.login)
        .bind(user.role.as_str())
        .bind(join_communes(&user.communes))
        .bind(&user.password_hash)
        .bind(user.created_at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let mut audit = audit;
        if let Some(details) = audit.details.as_object_mut() {
            details.insert("user".to_owned(), format!("user:{id}").into());
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    async fn user(&self, id: i64) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "select ",
            user_columns!(),
            " from console_users u where u.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "select ",
            user_columns!(),
            " from console_users u where u.login = $1"
        ))
        .bind(login)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn users(&self) -> Result<Vec<UserRecord>> {
        sqlx::query(concat!(
            "select ",
            user_columns!(),
            " from console_users u order by u.id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(user_from_row)
        .collect()
    }

    async fn disable_user(&self, id: i64, at: Timestamp, audit: NewAuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "update console_users set disabled_at = $1 where id = $2 and disabled_at is null",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        end_user_sessions(&mut tx, id, at).await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_password(
        &self,
        id: i64,
        password_hash: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("update console_users set password_hash = $1 where id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Whoever knew the old password is signed out with it.
        end_user_sessions(&mut tx, id, at).await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_totp_secret(
        &self,
        id: i64,
        secret: Option<&str>,
        audit: NewAuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("update console_users set totp_secret = $1 where id = $2")
            .bind(secret)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        sqlx::query(
            "insert into console_sessions (id, user_id, csrf, pending_second_factor, created_at, last_seen)
             values ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&session.id)
        .bind(session.user_id)
        .bind(&session.csrf)
        .bind(session.pending_second_factor)
        .bind(session.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>> {
        let Some(row) = sqlx::query(concat!(
            "select ",
            user_columns!(),
            ", s.id as session_id, s.csrf, s.pending_second_factor,
                    s.created_at as session_created_at, s.last_seen, s.ended_at
             from console_sessions s join console_users u on u.id = s.user_id
             where s.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            id: row.try_get("session_id")?,
            user: user_from_row(&row)?,
            csrf: row.try_get("csrf")?,
            pending_second_factor: row.try_get("pending_second_factor")?,
            created_at: row.try_get("session_created_at")?,
            last_seen: row.try_get("last_seen")?,
            ended_at: row.try_get("ended_at")?,
        }))
    }

    async fn touch_session(&self, id: &str, at: Timestamp) -> Result<()> {
        // At most one write a minute per session: every page view would otherwise write, and
        // the idle expiry is counted in minutes.
        sqlx::query(
            "update console_sessions set last_seen = $1 where id = $2 and last_seen < $1 - 60",
        )
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn complete_second_factor(&self, id: &str, at: Timestamp) -> Result<()> {
        sqlx::query(
            "update console_sessions set pending_second_factor = false, last_seen = $1 where id = $2",
        )
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_session(&self, id: &str, at: Timestamp) -> Result<()> {
        sqlx::query("update console_sessions set ended_at = $1 where id = $2 and ended_at is null")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune_sessions(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "delete from console_sessions where (ended_at is not null and ended_at < $1) or last_seen < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// Ends every open session of a user, in the caller's transaction.
async fn end_user_sessions(
    tx: &mut sqlx::Transaction<'static, super::Db>,
    user_id: i64,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "update console_sessions set ended_at = $1 where user_id = $2 and ended_at is null",
    )
    .bind(at)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
