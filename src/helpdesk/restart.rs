//! What the helpdesk repairs when it starts after a stop it did not choose (a crash, `kill -9`):
//! transcriptions that were running and recordings that were cut.

use super::voicemail::Voicemail;
use crate::store::{Dialect, Store, StoreError};

/// Puts the work a crash interrupted back on its way. Runs before any call is taken.
pub async fn recover(store: &Store, voicemail: &Voicemail) -> Result<(), StoreError> {
    if store.dialect() == Dialect::Sqlite {
        // One node owns an SQLite database: whatever was running was cut by our own stop.
        let n = store.requeue_running_transcriptions().await?;
        if n > 0 {
            tracing::info!(jobs = n, "interrupted transcriptions queued again");
        }
    }
    voicemail.recover_interrupted().await?;
    Ok(())
}
