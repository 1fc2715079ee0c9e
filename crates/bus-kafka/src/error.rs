//! Bus errors.

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot reach the Kafka brokers at {brokers}: {reason}. Check kafka.brokers and that the broker runs")]
    Unreachable { brokers: String, reason: String },

    #[error("Kafka client error: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),

    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },

    #[error("topic {0} does not exist; create it, or let `cdc-streamer reader` create it")]
    MissingTopic(String),

    #[error("the broker did not acknowledge a message: {0}. Nothing after it was checkpointed; the reader resumes before it on restart")]
    Delivery(String),

    #[error("reading topic {topic} stopped: no message for {idle_secs} s although offsets up to {missing} remained (partition {partition}). Is the broker overloaded, or does it refuse to serve a record that large (message.max.bytes / fetch.max.bytes)?")]
    ScanStalled {
        topic: String,
        partition: i32,
        missing: i64,
        idle_secs: u64,
    },

    #[error("cannot serialize a record for {what}: {reason}")]
    Encode { what: String, reason: String },

    #[error("a blocking Kafka task failed: {0}")]
    Task(String),

    #[error("malformed checkpoint record in topic {topic}: {reason}")]
    BadCheckpoint { topic: String, reason: String },
}
