//! [`ClientStore`] for [`Server`] (PostgreSQL and MySQL).

use super::error::{from_sqlx, with_conflict};
use super::rows;
use super::{Dialect, Server};
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{ClientQuery, ClientStore};
use latch_sql::rows::{client as client_values, client_update, decode_client};

impl Server {
    /// [`ClientStore::delete_client`]: the client's tokens, consents and row in one
    /// revocation transaction (see `tokens`: on MySQL the token delete runs twice, the
    /// second time holding every row of the client).
    async fn try_delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_revocation().await?;
        let times = if self.dialect == Dialect::MySql { 2 } else { 1 };
        for _ in 0..times {
            sqlx::query(&self.sql.delete_client_tokens).bind(id).execute(&mut *tx).await.map_err(from_sqlx)?;
        }
        sqlx::query(&self.sql.delete_client_consents).bind(id).execute(&mut *tx).await.map_err(from_sqlx)?;
        let done = sqlx::query(&self.sql.delete_client).bind(id).execute(&mut *tx).await.map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }
}

impl ClientStore for Server {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        rows::bind(sqlx::query(&self.sql.insert_client), client_values(client)?)
            .execute(self.pool()?)
            .await
            .map_err(|e| with_conflict(e, || format!("client {} exists", client.client_id)))?;
        Ok(())
    }

    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query(&self.sql.get_client).bind(id).fetch_optional(self.pool()?).await.map_err(from_sqlx)?;
        rows::one(&row, decode_client)
    }

    async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let values = client_update(client)?;
        let announced = self.announcement(|| format!("c{}", client.client_id)).await;
        let done = self.run(rows::bind(sqlx::query(&self.sql.update_client), values)).await?;
        announced.heard().await;
        // MySQL counts matched rows here too: sqlx connects with CLIENT_FOUND_ROWS.
        Ok(done > 0)
    }

    async fn update_client_if_unchanged(&self, client: &Client, expected_updated_at: i64) -> Result<bool, StoreError> {
        let values = latch_sql::rows::client_update_if(client, expected_updated_at)?;
        let announced = self.announcement(|| format!("c{}", client.client_id)).await;
        let done = self.run(rows::bind(sqlx::query(&self.sql.update_client_if_unchanged), values)).await?;
        announced.heard().await;
        Ok(done > 0)
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let announced = self.announcement(|| format!("c{id}")).await;
        let deleted = self.retrying(|| self.try_delete_client(id)).await?;
        if deleted {
            announced.heard().await;
        }
        Ok(deleted)
    }

    async fn list_clients(&self, q: &ClientQuery) -> Result<Vec<Client>, StoreError> {
        let sql = self.sql.list_clients(q.after_id.is_some(), q.client_name.is_some(), q.owner.is_some());
        let mut query = sqlx::query(&sql);
        for value in [&q.after_id, &q.client_name, &q.owner].into_iter().flatten() {
            query = query.bind(value.as_str());
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(self.pool()?).await.map_err(from_sqlx)?;
        rows::all(&rows, decode_client)
    }
}
