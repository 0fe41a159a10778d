//! Autoregressive generation: sampling, stop conditions, streaming and cancellation.
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::decoder::Decoder;
use crate::tokenizer::TextTokenizer;

/// How the next token is chosen. `temperature == 0` means greedy (argmax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingConfig {
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens (0 = no limit).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches `top_p` (1.0 = no limit).
    pub top_p: f32,
    pub seed: u64,
}

impl SamplingConfig {
    /// Deterministic argmax decoding.
    pub fn greedy() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, seed: 0 }
    }

    fn validate(&self) -> Result<()> {
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(EngineError::Sampling(format!("temperature {} must be a finite number ≥ 0", self.temperature)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(EngineError::Sampling(format!("top_p {} must be in (0, 1]", self.top_p)));
        }
        Ok(())
    }
}

impl Default for SamplingConfig {
    /// The settings the ReasonFlux release used for both roles.
    fn default() -> Self {
        Self { temperature: 0.6, top_k: 0, top_p: 0.95, seed: 0 }
    }
}

/// Limits and stop conditions of one generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationConfig {
    pub max_new_tokens: usize,
    pub sampling: SamplingConfig,
    /// Token ids that end generation (not included in the text).
    pub stop_tokens: Vec<u32>,
    /// Strings that end generation; the text is cut before the first match.
    pub stop_strings: Vec<String>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self { max_new_tokens: 256, sampling: SamplingConfig::default(), stop_tokens: Vec::new(), stop_strings: Vec::new() }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    StopToken,
    StopString,
    MaxTokens,
    ContextFull,
    Cancelled,
}

impl FinishReason {
    /// Stopped by the token budget or the end of the context rather than by the model: the
    /// text may end mid-sentence.
    pub fn is_cut_off(self) -> bool {
        matches!(self, FinishReason::MaxTokens | FinishReason::ContextFull)
    }
}

/// Fewest new tokens a request must have room for in the context. A reply shorter than this
/// cannot hold a worked answer, so such a request is refused rather than cut off at once.
pub const MIN_NEW_TOKENS: usize = 16;

/// The new-token budget of a request with a `prompt_len`-token prompt: `requested`, clamped to
/// the room the `context_len`-token context leaves after the prompt (one position kept spare).
/// Too little room, fewer than `min(requested, MIN_NEW_TOKENS)` tokens, is
/// [`EngineError::PromptTooLong`]. Every driver (CLI, evaluation, browser) budgets by this.
pub fn fit_new_tokens(requested: usize, prompt_len: usize, context_len: usize) -> Result<usize> {
    let requested = requested.max(1);
    let room = context_len.saturating_sub(prompt_len).saturating_sub(1);
    if room < requested.min(MIN_NEW_TOKENS) {
        return Err(EngineError::PromptTooLong { prompt_tokens: prompt_len, max_new_tokens: requested, context_len });
    }
    Ok(requested.min(room))
}

/// What one generation produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub text: String,
    pub token_ids: Vec<u32>,
    pub prompt_tokens: usize,
    pub finish_reason: FinishReason,
    /// Seconds spent on the prompt (prefill) and on the new tokens (decode).
    pub prefill_seconds: f64,
    pub decode_seconds: f64,
}

/// Small, seedable PRNG (SplitMix64) so sampling is reproducible on every target.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Picks the next token from one row of logits.
pub fn sample(logits: &[f32], cfg: &SamplingConfig, rng: &mut Rng) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold((0usize, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
            .0 as u32
    };
    if cfg.temperature == 0.0 {
        return argmax();
    }
    let mut candidates: Vec<(u32, f32)> =
        logits.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, &v)| (i as u32, v)).collect();
    if candidates.is_empty() {
        return argmax();
    }
    let probs = nucleus(&mut candidates, cfg);
    let mut r = rng.next_f32();
    for (i, p) in probs.iter().enumerate() {
        if r < *p {
            return candidates[i].0;
        }
        r -= p;
    }
    candidates[probs.len() - 1].0
}

/// Moves the tokens that top-k and top-p leave to the front of `candidates`, highest logit
/// first, and returns their renormalised probabilities. Only that head is sorted: the nucleus
/// is usually a few dozen tokens of a 150k vocabulary, and sorting all of it every token cost
/// a fifth of Qwen-0.5B's decode time.
fn nucleus(candidates: &mut Vec<(u32, f32)>, cfg: &SamplingConfig) -> Vec<f32> {
    let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1);
    if cfg.top_k > 0 && cfg.top_k < candidates.len() {
        candidates.select_nth_unstable_by(cfg.top_k - 1, by_logit);
        candidates.truncate(cfg.top_k);
    }
    let max = candidates.iter().fold(f32::NEG_INFINITY, |m, c| m.max(c.1));
    let weight = |v: f32| ((v - max) / cfg.temperature).exp();
    let total: f32 = candidates.iter().map(|c| weight(c.1)).sum();
    let mut head = if cfg.top_p < 1.0 { candidates.len().min(64) } else { candidates.len() };
    loop {
        if head < candidates.len() {
            candidates.select_nth_unstable_by(head - 1, by_logit);
        }
        candidates[..head].sort_unstable_by(by_logit);
        let mut cumulative = 0.0;
        let keep = candidates[..head].iter().position(|c| {
            cumulative += weight(c.1) / total;
            cumulative >= cfg.top_p
        });
        if keep.is_some() || head == candidates.len() {
            let keep = keep.map_or(head, |i| i + 1);
            let probs: Vec<f32> = candidates[..keep].iter().map(|c| weight(c.1)).collect();
            let kept: f32 = probs.iter().sum();
            return probs.into_iter().map(|p| p / kept).collect();
        }
        head = (head * 4).min(candidates.len());
    }
}

/// Emits decoded text incrementally, holding back bytes of an unfinished UTF-8 character.
struct TextStream {
    prefix: usize,
    read: usize,
}

impl TextStream {
    fn next(&mut self, tokenizer: &TextTokenizer, ids: &[u32]) -> Result<Option<String>> {
        let before = tokenizer.decode(&ids[self.prefix..self.read])?;
        let now = tokenizer.decode(&ids[self.prefix..])?;
        if now.len() > before.len() && !now.ends_with('\u{FFFD}') && now.is_char_boundary(before.len()) {
            let piece = now[before.len()..].to_string();
            self.prefix = self.read;
            self.read = ids.len();
            Ok(Some(piece))
        } else {
            Ok(None)
        }
    }
}

/// One streamed step: the token just chosen and the text it completed (may be empty).
#[derive(Debug, Clone)]
pub struct TokenEvent<'a> {
    pub token_id: u32,
    pub text: &'a str,
    pub index: usize,
}

/// What [`DecodeSession::next`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A new token and the text it completed (possibly empty; cut before a stop string).
    Token { id: u32, text: String },
    /// Generation is over.
    Finished(FinishReason),
}

/// The token-by-token logic of one generation, independent of how logits are computed, so
/// the native loop ([`generate`]) and the browser's async loop share it.
pub struct DecodeSession {
    cfg: GenerationConfig,
    rng: Rng,
    ids: Vec<u32>,
    text: String,
    stream: TextStream,
    prompt_len: usize,
    context_len: usize,
    /// Set when the last token ended generation (stop string, full context, cancel).
    finished: Option<FinishReason>,
}

impl DecodeSession {
    /// Checks the settings and the prompt length against the context.
    pub fn new(cfg: &GenerationConfig, prompt_len: usize, context_len: usize) -> Result<Self> {
        cfg.sampling.validate()?;
        if prompt_len == 0 {
            return Err(EngineError::EmptyPrompt);
        }
        if prompt_len >= context_len {
            return Err(EngineError::PromptTooLong { prompt_tokens: prompt_len, max_new_tokens: cfg.max_new_tokens, context_len });
        }
        Ok(Self {
            cfg: cfg.clone(),
            rng: Rng::new(cfg.sampling.seed),
            ids: Vec::new(),
            text: String::new(),
            stream: TextStream { prefix: 0, read: 0 },
            prompt_len,
            context_len,
            finished: None,
        })
    }

    /// Why generation ended, once it has.
    pub fn finished(&self) -> Option<FinishReason> {
        self.finished
    }

    /// Ends generation at the caller's request; the text so far is kept.
    pub fn cancel(&mut self) {
        self.finished.get_or_insert(FinishReason::Cancelled);
    }

    /// Chooses the next token from the logits of the last position.
    pub fn next(&mut self, logits: &[f32], tokenizer: &TextTokenizer) -> Result<Step> {
        if let Some(reason) = self.finished {
            return Ok(Step::Finished(reason));
        }
        if self.ids.len() >= self.cfg.max_new_tokens {
            return Ok(Step::Finished(*self.finished.insert(FinishReason::MaxTokens)));
        }
        let id = sample(logits, &self.cfg.sampling, &mut self.rng);
        if self.cfg.stop_tokens.contains(&id) {
            return Ok(Step::Finished(*self.finished.insert(FinishReason::StopToken)));
        }
        self.ids.push(id);
        let piece = self.stream.next(tokenizer, &self.ids)?.unwrap_or_default();
        let old_len = self.text.len();
        let longest_stop = self.cfg.stop_strings.iter().map(String::len).max().unwrap_or(0);
        self.text.push_str(&piece);
        let mut emitted = piece;
        if let Some(cut) = find_stop(&self.text, old_len.saturating_sub(longest_stop), &self.cfg.stop_strings) {
            self.text.truncate(cut);
            emitted = self.text.get(old_len..).unwrap_or("").to_string();
            self.finished = Some(FinishReason::StopString);
        } else if self.prompt_len + self.ids.len() >= self.context_len {
            self.finished = Some(FinishReason::ContextFull);
        }
        Ok(Step::Token { id, text: emitted })
    }

    /// The result, with the timings the caller measured.
    pub fn into_generation(self, prefill_seconds: f64, decode_seconds: f64) -> Generation {
        Generation {
            text: self.text,
            token_ids: self.ids,
            prompt_tokens: self.prompt_len,
            finish_reason: self.finished.unwrap_or(FinishReason::MaxTokens),
            prefill_seconds,
            decode_seconds,
        }
    }
}

/// Generates a continuation of `prompt_ids`, starting from an empty KV cache.
///
/// `on_token` sees every new token; returning `ControlFlow::Break(())` cancels generation,
/// which then ends with [`FinishReason::Cancelled`] and the text so far.
pub fn generate(
    model: &mut Decoder,
    tokenizer: &TextTokenizer,
    prompt_ids: &[u32],
    cfg: &GenerationConfig,
    mut on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
) -> Result<Generation> {
    let mut session = DecodeSession::new(cfg, prompt_ids.len(), model.context_len())?;
    model.reset();
    let clock = Clock::start();
    let mut logits = model.forward_host(prompt_ids, false)?.pop().unwrap_or_default();
    let prefill_seconds = clock.seconds();
    let clock = Clock::start();
    let mut index = 0;
    while let Step::Token { id, text } = session.next(&logits, tokenizer)? {
        if on_token(&TokenEvent { token_id: id, text: &text, index }).is_break() {
            session.cancel();
        }
        index += 1;
        if session.finished().is_some() {
            break;
        }
        logits = model.forward_host(&[id], false)?.pop().unwrap_or_default();
    }
    Ok(session.into_generation(prefill_seconds, clock.seconds()))
}

/// Earliest byte offset at or after `from` where any stop string begins.
fn find_stop(text: &str, from: usize, stops: &[String]) -> Option<usize> {
    let mut from = from.min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    stops.iter().filter(|s| !s.is_empty()).filter_map(|s| text[from..].find(s.as_str()).map(|i| i + from)).min()
}

/// Wall-clock timer that also works in wasm32 (where `std::time::Instant` panics): there it
/// reports zero and the browser measures time itself.
struct Clock(#[cfg(not(target_arch = "wasm32"))] std::time::Instant);

impl Clock {
    fn start() -> Self {
        Self(
            #[cfg(not(target_arch = "wasm32"))]
            std::time::Instant::now(),
        )
    }
    fn seconds(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.0.elapsed().as_secs_f64();
        #[cfg(target_arch = "wasm32")]
        return 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_the_largest_logit() {
        let mut rng = Rng::new(1);
        assert_eq!(sample(&[0.1, 3.0, -1.0, 2.9], &SamplingConfig::greedy(), &mut rng), 1);
    }

    #[test]
    fn top_k_one_is_greedy_whatever_the_temperature() {
        let cfg = SamplingConfig { temperature: 5.0, top_k: 1, top_p: 1.0, seed: 0 };
        let mut rng = Rng::new(7);
        for _ in 0..50 {
            assert_eq!(sample(&[0.0, 1.0, 0.5], &cfg, &mut rng), 1);
        }
    }

    #[test]
    fn top_p_excludes_the_tail() {
        // Token 0 holds ~0.88 of the mass; with top_p 0.5 only it survives.
        let cfg = SamplingConfig { temperature: 1.0, top_k: 0, top_p: 0.5, seed: 0 };
        let mut rng = Rng::new(3);
        for _ in 0..100 {
            assert_eq!(sample(&[3.0, 1.0, 0.0, -1.0], &cfg, &mut rng), 0);
        }
    }

    #[test]
    fn sampling_is_reproducible_for_a_seed_and_varies_across_seeds() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let cfg = SamplingConfig { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 0 };
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..20).map(|_| sample(&logits, &cfg, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(11), draw(11));
        assert_ne!(draw(11), draw(12));
    }

    /// The nucleus as a full sort finds it.
    fn nucleus_by_full_sort(logits: &[f32], cfg: &SamplingConfig) -> Vec<u32> {
        let mut c: Vec<(u32, f32)> = logits.iter().enumerate().map(|(i, &v)| (i as u32, v)).collect();
        c.sort_by(|a, b| b.1.total_cmp(&a.1));
        if cfg.top_k > 0 {
            c.truncate(cfg.top_k);
        }
        let w: Vec<f64> = c.iter().map(|x| (((x.1 - c[0].1) / cfg.temperature) as f64).exp()).collect();
        let total: f64 = w.iter().sum();
        let mut cumulative = 0.0;
        let keep = w.iter().position(|p| {
            cumulative += p / total;
            cumulative >= cfg.top_p as f64
        });
        c.truncate(keep.map_or(c.len(), |i| i + 1));
        c.into_iter().map(|x| x.0).collect()
    }

    #[test]
    fn partial_sort_nucleus_equals_the_full_sort_one() {
        let mut rng = Rng::new(5);
        // Peaked, flat (the head has to grow past 64 and 256) and top-k-limited distributions.
        for (spread, top_k, top_p) in [(8.0, 0, 0.95), (0.05, 0, 0.95), (0.5, 0, 0.9), (2.0, 40, 0.95), (1.0, 0, 1.0)] {
            let logits: Vec<f32> = (0..5000).map(|_| rng.next_f32() * spread).collect();
            let cfg = SamplingConfig { temperature: 0.6, top_k, top_p, seed: 0 };
            let mut c: Vec<(u32, f32)> = logits.iter().enumerate().map(|(i, &v)| (i as u32, v)).collect();
            let probs = nucleus(&mut c, &cfg);
            let ours: Vec<u32> = c[..probs.len()].iter().map(|x| x.0).collect();
            let want = nucleus_by_full_sort(&logits, &cfg);
            // Rounding may move the cut by one token on a flat distribution; never more.
            assert!(ours.len().abs_diff(want.len()) <= 1, "{spread}: {} vs {}", ours.len(), want.len());
            // Compared by logit: tied tokens may come in either order.
            let n = ours.len().min(want.len());
            let logit_of = |ids: &[u32]| ids[..n].iter().map(|&i| logits[i as usize]).collect::<Vec<_>>();
            assert_eq!(logit_of(&ours), logit_of(&want), "spread {spread}");
            assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn bad_sampling_settings_are_rejected() {
        let cfg = SamplingConfig { temperature: -1.0, ..SamplingConfig::default() };
        assert!(matches!(cfg.validate(), Err(EngineError::Sampling(_))));
        let cfg = SamplingConfig { top_p: 0.0, ..SamplingConfig::default() };
        assert!(matches!(cfg.validate(), Err(EngineError::Sampling(_))));
    }

    #[test]
    fn stop_search_finds_the_earliest_match() {
        let stops = vec!["END".to_string(), "\n\n".to_string()];
        assert_eq!(find_stop("abc\n\nxEND", 0, &stops), Some(3));
        assert_eq!(find_stop("abc", 0, &stops), None);
        assert_eq!(find_stop("ééEND", 1, &stops), Some(4));
    }
}
