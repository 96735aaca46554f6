//! Streaming decode of `/api/v1/series` answers.
//!
//! A million series is ~180 MB of JSON. Buffering it and then building a map per series cost
//! the reference gigabytes; here the body is parsed as it arrives (on a blocking thread fed
//! chunk by chunk through a bounded channel), each series is folded into the result at once,
//! and in `Shapes` mode series that differ only in label values collapse into one entry.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Error, Series};

/// How much of each series discovery keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesDetail {
    /// Every series with its label values (standalone mode reads objects from them).
    Full,
    /// One entry per (name, label names), values dropped, `count` series folded in.
    Shapes,
}

/// Chunks from the network, read as one stream by the decoder.
struct ChannelReader {
    chunks: std::sync::mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Ok(chunk) => self.current = chunk,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

pub(super) async fn decode_streaming(
    mut response: reqwest::Response,
    url: String,
    limit: usize,
    detail: SeriesDetail,
    transport: impl Fn(&str, reqwest::Error) -> Error,
) -> Result<Vec<Series>, Error> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<bytes::Bytes>(8);
    let decoder = tokio::task::spawn_blocking(move || {
        let reader = std::io::BufReader::with_capacity(
            64 * 1024,
            ChannelReader {
                chunks: receiver,
                current: bytes::Bytes::new(),
            },
        );
        decode(reader, detail)
    });
    let mut received = 0usize;
    let mut failure = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                received += chunk.len();
                if received > limit {
                    failure = Some(Error::ResponseTooLarge {
                        url: url.clone(),
                        limit,
                    });
                    break;
                }
                // The decoder stopped (bad JSON): its error is the one to report.
                if sender.send(chunk).is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                failure = Some(transport(&url, e));
                break;
            }
        }
    }
    drop(sender);
    let decoded = decoder
        .await
        .map_err(|e| Error::Decode(format!("the series decoder failed: {e}")))?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    decoded
}

/// Decodes a whole series answer from a reader (also used on buffered bodies in tests).
pub(crate) fn decode(reader: impl Read, detail: SeriesDetail) -> Result<Vec<Series>, Error> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let envelope = EnvelopeSeed { detail }
        .deserialize(&mut de)
        .map_err(|e| Error::Decode(e.to_string()))?;
    de.end().map_err(|e| Error::Decode(e.to_string()))?;
    if envelope.status == "error" {
        return Err(Error::Api {
            error_type: envelope.error_type,
            message: envelope.error,
        });
    }
    Ok(envelope.series.series)
}

struct Envelope {
    status: String,
    error_type: String,
    error: String,
    series: Collected,
}

struct EnvelopeSeed {
    detail: SeriesDetail,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed {
    type Value = Envelope;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed {
    type Value = Envelope;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus API answer")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut envelope = Envelope {
            status: String::new(),
            error_type: String::new(),
            error: String::new(),
            series: Collected::new(self.detail),
        };
        let mut key = String::new();
        while map.next_key_seed(Text(&mut key))?.is_some() {
            match key.as_str() {
                "status" => envelope.status = map.next_value()?,
                "errorType" => envelope.error_type = map.next_value()?,
                "error" => envelope.error = map.next_value()?,
                "data" => map.next_value_seed(DataSeed(&mut envelope.series))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            key.clear();
        }
        if envelope.status.is_empty() {
            return Err(de::Error::missing_field("status"));
        }
        Ok(envelope)
    }
}

/// The series kept so far, and in `Shapes` mode the index of each shape.
struct Collected {
    detail: SeriesDetail,
    series: Vec<Series>,
    shapes: HashMap<String, usize>,
    /// Reused per series: the shape key, and label names / values as (start, end) in it.
    scratch: String,
    names: Vec<(usize, usize, usize, usize)>,
}

impl Collected {
    fn new(detail: SeriesDetail) -> Self {
        Collected {
            detail,
            series: Vec::new(),
            shapes: HashMap::new(),
            scratch: String::new(),
            names: Vec::new(),
        }
    }
}

/// `data`: null or an array of label maps.
struct DataSeed<'a>(&'a mut Collected);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of series")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(SeriesSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

struct SeriesSeed<'a>(&'a mut Collected);

impl<'de> DeserializeSeed<'de> for SeriesSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SeriesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label set")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.0;
        c.scratch.clear();
        c.names.clear();
        let keep_values = c.detail == SeriesDetail::Full;
        // The name first, then "\0label" per label (values appended after, in Full mode).
        let mut name = String::new();
        let mut key = String::new();
        while map.next_key_seed(Text(&mut key))?.is_some() {
            if key == "__name__" {
                map.next_value_seed(Text(&mut name))?;
            } else {
                let start = c.scratch.len();
                c.scratch.push_str(&key);
                let end = c.scratch.len();
                let (vstart, vend) = if keep_values {
                    map.next_value_seed(Text(&mut c.scratch))?;
                    (end, c.scratch.len())
                } else {
                    map.next_value::<IgnoredAny>()?;
                    (end, end)
                };
                c.names.push((start, end, vstart, vend));
            }
            key.clear();
        }
        // Prometheus sorts labels by name; sort anyway so shapes compare equal.
        let scratch = &c.scratch;
        c.names
            .sort_unstable_by(|a, b| scratch[a.0..a.1].cmp(&scratch[b.0..b.1]));
        let labels = |c: &Collected| -> Vec<(String, String)> {
            c.names
                .iter()
                .map(|&(s, e, vs, ve)| (c.scratch[s..e].to_string(), c.scratch[vs..ve].to_string()))
                .collect()
        };
        match c.detail {
            SeriesDetail::Full => {
                let labels = labels(c);
                c.series.push(Series {
                    name,
                    labels,
                    count: 1,
                });
            }
            SeriesDetail::Shapes => {
                let mut shape = String::with_capacity(name.len() + c.scratch.len() + c.names.len());
                shape.push_str(&name);
                for &(s, e, ..) in &c.names {
                    shape.push('\0');
                    shape.push_str(&c.scratch[s..e]);
                }
                match c.shapes.get(&shape) {
                    Some(&i) => c.series[i].count += 1,
                    None => {
                        let labels = labels(c);
                        c.shapes.insert(shape, c.series.len());
                        c.series.push(Series {
                            name,
                            labels,
                            count: 1,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Appends a JSON string to a buffer, borrowed or not, without an allocation of its own.
struct Text<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, labels: &[(&str, &str)], count: usize) -> Series {
        Series {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            count,
        }
    }

    #[test]
    fn decodes_full_and_shapes() {
        let body = r#"{"status":"success","warnings":["w"],"data":[
            {"__name__":"a","pod":"p1","namespace":"n"},
            {"namespace":"n","pod":"p2","__name__":"a"},
            {"__name__":"a","pod":"p\u00e9","namespace":"n","x":"y"},
            {"__name__":"b\"q","pod":"p1"}]}"#;
        let full = decode(body.as_bytes(), SeriesDetail::Full).unwrap();
        assert_eq!(
            full,
            vec![
                series("a", &[("namespace", "n"), ("pod", "p1")], 1),
                series("a", &[("namespace", "n"), ("pod", "p2")], 1),
                series("a", &[("namespace", "n"), ("pod", "pé"), ("x", "y")], 1),
                series("b\"q", &[("pod", "p1")], 1),
            ]
        );
        let shapes = decode(body.as_bytes(), SeriesDetail::Shapes).unwrap();
        assert_eq!(
            shapes,
            vec![
                series("a", &[("namespace", ""), ("pod", "")], 2),
                series("a", &[("namespace", ""), ("pod", ""), ("x", "")], 1),
                series("b\"q", &[("pod", "")], 1),
            ]
        );
    }

    #[test]
    fn errors() {
        let cases = [
            (r#"{"status":"success","data":null}"#, Ok(0)),
            (r#"{"status":"success","data":[]}"#, Ok(0)),
            (
                r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
                Err("bad_data: parse error"),
            ),
            (
                r#"{"status":"success","data":[{"__name__":"a""#,
                Err("bad_response"),
            ),
            (r#"{"status":"success","data":[1]}"#, Err("bad_response")),
            (r#"{"data":[]}"#, Err("bad_response")),
            (
                r#"{"status":"success","data":[]} trailing"#,
                Err("bad_response"),
            ),
        ];
        for (body, expected) in cases {
            let got = decode(body.as_bytes(), SeriesDetail::Full);
            match (got, expected) {
                (Ok(list), Ok(n)) => assert_eq!(list.len(), n, "{body}"),
                (Err(e), Err(prefix)) => {
                    assert!(e.to_string().starts_with(prefix), "{body}: {e}")
                }
                (got, _) => panic!("{body}: {got:?}"),
            }
        }
    }
}
