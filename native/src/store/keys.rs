//! [`KeyStore`] for [`Server`] (PostgreSQL and MySQL).

use super::error::{from_sqlx, with_conflict};
use super::rows;
use super::Server;
use latch_core::error::StoreError;
use latch_core::store::{KeyStore, StoredKey};
use latch_sql::rows::{decode_key, key as key_values};

impl KeyStore for Server {
    async fn add_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let announced = self.announcement(|| format!("k{}", key.set)).await;
        rows::bind(sqlx::query(&self.sql.insert_key), key_values(key))
            .execute(self.pool()?)
            .await
            .map_err(|e| with_conflict(e, || format!("key {}/{} exists", key.set, key.kid)))?;
        announced.heard().await;
        Ok(())
    }

    async fn get_key_set(&self, set: &str) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(&self.sql.get_key_set).bind(set).fetch_all(self.pool()?).await.map_err(from_sqlx)?;
        rows::all(&rows, decode_key)
    }

    async fn delete_key_set(&self, set: &str) -> Result<u64, StoreError> {
        let announced = self.announcement(|| format!("k{set}")).await;
        let done = self.run(sqlx::query(&self.sql.delete_key_set).bind(set)).await?;
        if done > 0 {
            announced.heard().await;
        }
        Ok(done)
    }

    async fn delete_key(&self, set: &str, kid: &str) -> Result<bool, StoreError> {
        let announced = self.announcement(|| format!("k{set}")).await;
        let done = self.run(sqlx::query(&self.sql.delete_key).bind(set).bind(kid)).await?;
        if done > 0 {
            announced.heard().await;
        }
        Ok(done > 0)
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(&self.sql.list_keys).fetch_all(self.pool()?).await.map_err(from_sqlx)?;
        rows::all(&rows, decode_key)
    }

    async fn reseal_key(&self, set: &str, kid: &str, old_sealed: &str, new_sealed: &str) -> Result<bool, StoreError> {
        let announced = self.announcement(|| format!("k{set}")).await;
        let done =
            self.run(sqlx::query(&self.sql.reseal_key).bind(new_sealed).bind(set).bind(kid).bind(old_sealed)).await?;
        if done > 0 {
            announced.heard().await;
        }
        Ok(done > 0)
    }
}
