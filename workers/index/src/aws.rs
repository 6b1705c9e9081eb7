//! The toxicity model on Amazon Comprehend: DetectToxicContent, English, the listing's segments in one call
//! (`screening::segments` keeps them within its 10 segments of 1 KB).

use async_trait::async_trait;
use aws_sdk_comprehend::types::{LanguageCode, TextSegment};
use domain::item::screening::Toxicity;
use infra::error::ProcessError;
use tracing::instrument;

use crate::TextScreen;

#[derive(Debug, Clone)]
pub struct Comprehend {
    client: aws_sdk_comprehend::Client,
}

impl Comprehend {
    pub fn new(client: aws_sdk_comprehend::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl TextScreen for Comprehend {
    #[instrument(skip_all, fields(segments = segments.len()), err)]
    async fn toxicity(&self, segments: &[String]) -> Result<Vec<Toxicity>, ProcessError> {
        let texts = segments
            .iter()
            .map(|text| TextSegment::builder().text(text).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProcessError::Permanent(Box::new(e)))?;
        let out = self
            .client
            .detect_toxic_content()
            .set_text_segments(Some(texts))
            .language_code(LanguageCode::En)
            .send()
            .await?;
        Ok(out
            .result_list
            .unwrap_or_default()
            .into_iter()
            .map(|r| Toxicity {
                score: r.toxicity.map(f64::from).unwrap_or_default(),
                labels: r
                    .labels
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|l| {
                        Some((
                            l.name?.as_str().to_owned(),
                            l.score.map(f64::from).unwrap_or_default(),
                        ))
                    })
                    .collect(),
            })
            .collect())
    }
}
