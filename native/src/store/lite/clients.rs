//! [`ClientStore`] for [`LiteStore`].

use super::error::from_rusqlite;
use super::rows;
use super::LiteStore;
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{ClientQuery, ClientStore};
use latch_sql::rows::{client as client_values, client_update};
use latch_sql::Value;
use rusqlite::types::ToSql;

impl ClientStore for LiteStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let values = client_values(client)?.map(Value::into_owned);
        self.insert(|q| &q.insert_client, values, format!("client {} exists", client.client_id)).await
    }

    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.read_one(|q| &q.get_client, [id])
    }

    async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let values = client_update(client)?.map(Value::into_owned);
        Ok(self.change_record(|q| &q.update_client, values).await? > 0)
    }

    async fn update_client_if_unchanged(&self, client: &Client, expected_updated_at: i64) -> Result<bool, StoreError> {
        let values = latch_sql::rows::client_update_if(client, expected_updated_at)?.map(Value::into_owned);
        Ok(self.change_record(|q| &q.update_client_if_unchanged, values).await? > 0)
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        // One job: the client's tokens, its consents and the client go together.
        self.write(move |conn, sql| {
            super::run(conn, &sql.delete_client_tokens, [&id]).map_err(from_rusqlite)?;
            super::run(conn, &sql.delete_client_consents, [&id]).map_err(from_rusqlite)?;
            Ok(super::run(conn, &sql.delete_client, [&id]).map_err(from_rusqlite)? > 0)
        })
        .await
    }

    async fn list_clients(&self, q: &ClientQuery) -> Result<Vec<Client>, StoreError> {
        self.read(|conn, sql| {
            let text = sql.list_clients(q.after_id.is_some(), q.client_name.is_some(), q.owner.is_some());
            let mut stmt = conn.prepare_cached(&text).map_err(from_rusqlite)?;
            // The filters that are set, in the query's order, then the limit.
            let limit = i64::from(q.limit);
            let mut params: Vec<&dyn ToSql> = Vec::with_capacity(4);
            for value in [&q.after_id, &q.client_name, &q.owner].into_iter().flatten() {
                params.push(value);
            }
            params.push(&limit);
            rows::all(&mut stmt, params.as_slice())
        })
    }
}
