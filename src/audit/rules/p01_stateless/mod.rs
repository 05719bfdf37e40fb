pub mod mutable_global_state;
pub mod local_disk_write;
pub mod sqlite_service_database;
pub mod in_process_shared_storage;
