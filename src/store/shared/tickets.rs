//! The duty desk's tickets, shifts and agents, written once for both backends. Taking and
//! escalating are single `update ... returning` statements guarded by their `where`, which
//! both databases run atomically per row: that is what makes them happen once across
//! instances.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};

use super::{Backend, Db, DbRow, corrupt, insert_audit};
use crate::domain::{Channel, CommuneCode, Locale, Timestamp};
use crate::store::{
    CentreName, DutyAgent, MessageOrigin, NewAuditEntry, NewShift, NewTicket, Result, Shift,
    Ticket, TicketMessage, TicketQuery, TicketStore,
};

/// The columns of a ticket, for `concat!` (sqlx takes only static statements).
macro_rules! ticket_columns {
    () => {
        "id, commune_code, channel, sender, sender_masked, locale, kind, incident_kind, centre_code, priority, status, owner, owner_name, created_at, first_answer_at, closed_at, closed_by, escalation_level, escalated_at"
    };
}

fn parsed<T: FromStr>(row: &DbRow, column: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(column)?;
    text.parse::<T>()
        .map_err(|error| corrupt(format!("{column}: {error}")))
}

fn ticket_from_row(row: &DbRow) -> Result<Ticket> {
    let incident: Option<String> = row.try_get("incident_kind")?;
    Ok(Ticket {
        id: row.try_get("id")?,
        commune: CommuneCode::parse(&row.try_get::<String, _>("commune_code")?).map_err(corrupt)?,
        channel: parsed::<Channel>(row, "channel")?,
        sender: row.try_get("sender")?,
        sender_masked: row.try_get("sender_masked")?,
        locale: parsed::<Locale>(row, "locale")?,
        kind: parsed(row, "kind")?,
        incident_kind: incident
            .map(|kind| kind.parse().map_err(corrupt))
            .transpose()?,
        centre: row.try_get("centre_code")?,
        priority: row.try_get("priority")?,
        status: parsed(row, "status")?,
        owner: row.try_get("owner")?,
        owner_name: row.try_get("owner_name")?,
        created_at: row.try_get("created_at")?,
        first_answer_at: row.try_get("first_answer_at")?,
        closed_at: row.try_get("closed_at")?,
        closed_by: row.try_get("closed_by")?,
        escalation_level: row.try_get("escalation_level")?,
        escalated_at: row.try_get("escalated_at")?,
    })
}

fn shift_from_row(row: &DbRow) -> Result<Shift> {
    Ok(Shift {
        id: row.try_get("id")?,
        cell: row.try_get("cell")?,
        starts_at: row.try_get("starts_at")?,
        ends_at: row.try_get("ends_at")?,
        agent: row.try_get("agent")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

fn agent_from_row(row: &DbRow) -> Result<DutyAgent> {
    Ok(DutyAgent {
        agent: row.try_get("agent")?,
        name: row.try_get("name")?,
        chat: row.try_get("chat")?,
        locale: parsed::<Locale>(row, "locale")?,
    })
}

#[async_trait]
impl TicketStore for Backend {
    async fn open_ticket(&self, ticket: &NewTicket, now: Timestamp) -> Result<Ticket> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
"insert into tickets (commune_code, channel, sender, sender_masked, locale, kind, incident_kind, centre_code, priority, status, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10) returning ",
ticket_columns!(),
""
))
        .bind(ticket.commune.as_str())
        .bind(ticket.channel.as_str())
        .bind(&ticket.sender)
        .bind(&ticket.sender_masked)
        .bind(ticket.locale.code())
        .bind(ticket.kind.as_str())
        .bind(ticket.incident_kind.map(|kind| kind.as_str()))
        .bind(ticket.centre.as_deref())
        .bind(ticket.priority)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let opened = ticket_from_row(&row)?;
        if let Some(text) = ticket.first_message.as_deref().filter(|t| !t.is_empty()) {
            sqlx::query(
                "insert into ticket_messages (ticket_id, origin, body, author, created_at)
                 values ($1, 'voter', $2, null, $3)",
            )
            .bind(opened.id)
            .bind(text)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(opened)
    }

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>> {
        sqlx::query(concat!(
            "select ",
            ticket_columns!(),
            " from tickets where id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(ticket_from_row)
        .transpose()
    }

    async fn open_ticket_of(&self, channel: Channel, sender: &str) -> Result<Option<Ticket>> {
        sqlx::query(concat!(
            "select ",
            ticket_columns!(),
            " from tickets
             where channel = $1 and sender = $2 and status = 'open' order by id desc limit 1"
        ))
        .bind(channel.as_str())
        .bind(sender)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(ticket_from_row)
        .transpose()
    }

    async fn tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>> {
        let mut sql = QueryBuilder::<Db>::new(concat!(
            "select ",
            ticket_columns!(),
            " from tickets where 1 = 1"
        ));
        if let Some(communes) = &query.communes {
            if communes.is_empty() {
                sql.push(" and false");
            } else {
                sql.push(" and commune_code in (");
                let mut list = sql.separated(", ");
                for commune in communes {
                    list.push_bind(commune.as_str().to_owned());
                }
                sql.push(")");
            }
        }
        if let Some(status) = query.status {
            sql.push(" and status = ").push_bind(status.as_str());
        }
        if let Some(from) = query.from {
            sql.push(" and created_at >= ").push_bind(from);
        }
        sql.push(" order by priority desc, id limit ")
            .push_bind(i64::from(query.limit));
        sql.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(ticket_from_row)
            .collect()
    }

    async fn take_ticket(
        &self,
        id: i64,
        owner: &str,
        owner_name: &str,
        audit: NewAuditEntry,
    ) -> Result<Option<Ticket>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "update tickets set owner = $1, owner_name = $2
             where id = $3 and owner is null and status = 'open' returning ",
            ticket_columns!(),
            ""
        ))
        .bind(owner)
        .bind(owner_name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let ticket = ticket_from_row(&row)?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(ticket))
    }

    async fn add_ticket_message(
        &self,
        id: i64,
        origin: MessageOrigin,
        body: &str,
        author: Option<&str>,
        now: Timestamp,
        audit: Option<NewAuditEntry>,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let message: i64 = sqlx::query_scalar(
            "insert into ticket_messages (ticket_id, origin, body, author, created_at)
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(id)
        .bind(origin.as_str())
        .bind(body)
        .bind(author)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if origin == MessageOrigin::Agent {
            sqlx::query(
                "update tickets set first_answer_at = $1 where id = $2 and first_answer_at is null",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(audit) = audit {
            insert_audit(&mut *tx, &audit).await?;
        }
        tx.commit().await?;
        Ok(message)
    }

    async fn close_ticket(
        &self,
        id: i64,
        by: &str,
        now: Timestamp,
        audit: Option<NewAuditEntry>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let closed = sqlx::query(
            "update tickets set status = 'closed', closed_at = $1, closed_by = $2
             where id = $3 and status = 'open'",
        )
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if closed && let Some(audit) = audit {
            insert_audit(&mut *tx, &audit).await?;
        }
        tx.commit().await?;
        Ok(closed)
    }

    async fn ticket_messages(&self, id: i64) -> Result<Vec<TicketMessage>> {
        sqlx::query(
            "select id, origin, body, author, created_at from ticket_messages
             where ticket_id = $1 order by id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(TicketMessage {
                id: row.try_get("id")?,
                origin: parsed(row, "origin")?,
                body: row.try_get("body")?,
                author: row.try_get("author")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
    }

    async fn escalate_tickets(
        &self,
        now: Timestamp,
        voters_before: Timestamp,
        incidents_before: Timestamp,
    ) -> Result<Vec<Ticket>> {
        sqlx::query(concat!(
"update tickets set escalation_level = 1, escalated_at = $1
             where status = 'open' and first_answer_at is null and escalation_level = 0
               and ((kind = 'voter' and created_at <= $2) or (kind = 'incident' and created_at <= $3))
             returning ",
ticket_columns!(),
""
))
        .bind(now)
        .bind(voters_before)
        .bind(incidents_before)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(ticket_from_row)
        .collect()
    }

    async fn add_shift(&self, shift: &NewShift, mut audit: NewAuditEntry) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into duty_shifts (cell, starts_at, ends_at, agent, created_by, created_at)
             values ($1, $2, $3, $4, $5, $6) returning id",
        )
        .bind(&shift.cell)
        .bind(shift.starts_at)
        .bind(shift.ends_at)
        .bind(&shift.agent)
        .bind(&shift.created_by)
        .bind(shift.created_at)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(details) = audit.details.as_object_mut() {
            details.insert("shift".to_owned(), id.into());
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn shifts(
        &self,
        cells: Option<&[String]>,
        ending_after: Timestamp,
    ) -> Result<Vec<Shift>> {
        let mut sql = QueryBuilder::<Db>::new(
            "select id, cell, starts_at, ends_at, agent, created_by, created_at from duty_shifts where ends_at > ",
        );
        sql.push_bind(ending_after);
        if let Some(cells) = cells {
            if cells.is_empty() {
                sql.push(" and false");
            } else {
                sql.push(" and cell in (");
                let mut list = sql.separated(", ");
                for cell in cells {
                    list.push_bind(cell.clone());
                }
                sql.push(")");
            }
        }
        sql.push(" order by starts_at, id");
        sql.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(shift_from_row)
            .collect()
    }

    async fn shift(&self, id: i64) -> Result<Option<Shift>> {
        sqlx::query(
            "select id, cell, starts_at, ends_at, agent, created_by, created_at from duty_shifts where id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(shift_from_row)
        .transpose()
    }

    async fn remove_shift(&self, id: i64, audit: NewAuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("delete from duty_shifts where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if removed {
            insert_audit(&mut *tx, &audit).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn save_duty_agent(&self, agent: &DutyAgent) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // A chat moved to another identity (a clerk who became a console user) leaves the
        // old one: a chat answers for one agent.
        sqlx::query("delete from duty_agents where chat = $1 and agent <> $2")
            .bind(&agent.chat)
            .bind(&agent.agent)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into duty_agents (agent, name, chat, locale) values ($1, $2, $3, $4)
             on conflict (agent) do update set name = excluded.name, chat = excluded.chat, locale = excluded.locale",
        )
        .bind(&agent.agent)
        .bind(&agent.name)
        .bind(&agent.chat)
        .bind(agent.locale.code())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn duty_agent(&self, agent: &str) -> Result<Option<DutyAgent>> {
        sqlx::query("select agent, name, chat, locale from duty_agents where agent = $1")
            .bind(agent)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(agent_from_row)
            .transpose()
    }

    async fn duty_agent_by_chat(&self, chat: &str) -> Result<Option<DutyAgent>> {
        sqlx::query("select agent, name, chat, locale from duty_agents where chat = $1")
            .bind(chat)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(agent_from_row)
            .transpose()
    }

    async fn commune_centres(&self, commune: &CommuneCode) -> Result<Vec<CentreName>> {
        sqlx::query(
            "select code, name_ar, name_fr from map_centres
             where commune_code = $1
               and map_version = (select import_id from current_versions where kind = 'map')
             order by code",
        )
        .bind(commune.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(CentreName {
                code: row.try_get("code")?,
                name_ar: row.try_get("name_ar")?,
                name_fr: row.try_get("name_fr")?,
            })
        })
        .collect()
    }
}
