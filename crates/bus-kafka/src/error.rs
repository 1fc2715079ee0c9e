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

    #[error("malformed checkpoint record in topic {topic}: {reason}")]
    BadCheckpoint { topic: String, reason: String },
}
