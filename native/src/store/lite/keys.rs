//! [`KeyStore`] for [`LiteStore`].

use super::LiteStore;
use latch_core::error::StoreError;
use latch_core::store::{KeyStore, StoredKey};
use latch_sql::Value;

impl KeyStore for LiteStore {
    async fn add_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let exists = format!("key {}/{} exists", key.set, key.kid);
        self.insert(|q| &q.insert_key, latch_sql::rows::key(key).map(Value::into_owned), exists).await
    }

    async fn get_key_set(&self, set: &str) -> Result<Vec<StoredKey>, StoreError> {
        self.read_all(|q| &q.get_key_set, [set])
    }

    async fn delete_key_set(&self, set: &str) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_key_set, [set.to_owned()]).await
    }

    async fn delete_key(&self, set: &str, kid: &str) -> Result<bool, StoreError> {
        Ok(self.change(|q| &q.delete_key, [set.to_owned(), kid.to_owned()]).await? > 0)
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.read_all(|q| &q.list_keys, ())
    }

    async fn reseal_key(&self, set: &str, kid: &str, old_sealed: &str, new_sealed: &str) -> Result<bool, StoreError> {
        let params = [new_sealed.to_owned(), set.to_owned(), kid.to_owned(), old_sealed.to_owned()];
        Ok(self.change(|q| &q.reseal_key, params).await? > 0)
    }
}
