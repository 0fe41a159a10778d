//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

/// Minimal GGUF v3 writer for building small test files.
pub struct GgufBuilder {
    meta: Vec<u8>,
    n_meta: u64,
    infos: Vec<u8>,
    data: Vec<u8>,
    n_tensors: u64,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

impl GgufBuilder {
    pub fn new() -> Self {
        Self { meta: Vec::new(), n_meta: 0, infos: Vec::new(), data: Vec::new(), n_tensors: 0 }
    }

    pub fn string(mut self, key: &str, value: &str) -> Self {
        put_str(&mut self.meta, key);
        self.meta.extend(8u32.to_le_bytes());
        put_str(&mut self.meta, value);
        self.n_meta += 1;
        self
    }

    pub fn u32(mut self, key: &str, value: u32) -> Self {
        put_str(&mut self.meta, key);
        self.meta.extend(4u32.to_le_bytes());
        self.meta.extend(value.to_le_bytes());
        self.n_meta += 1;
        self
    }

    pub fn f32(mut self, key: &str, value: f32) -> Self {
        put_str(&mut self.meta, key);
        self.meta.extend(6u32.to_le_bytes());
        self.meta.extend(value.to_le_bytes());
        self.n_meta += 1;
        self
    }

    /// Adds a tensor with raw encoded bytes; `shape` is row-major (outermost first).
    pub fn tensor_raw(mut self, name: &str, shape: &[usize], ggml_type: u32, bytes: &[u8]) -> Self {
        while self.data.len() % 32 != 0 {
            self.data.push(0);
        }
        put_str(&mut self.infos, name);
        self.infos.extend((shape.len() as u32).to_le_bytes());
        for d in shape.iter().rev() {
            self.infos.extend((*d as u64).to_le_bytes());
        }
        self.infos.extend(ggml_type.to_le_bytes());
        self.infos.extend((self.data.len() as u64).to_le_bytes());
        self.data.extend(bytes);
        self.n_tensors += 1;
        self
    }

    pub fn tensor_f32(self, name: &str, shape: &[usize], values: &[f32]) -> Self {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor_raw(name, shape, 0, &bytes)
    }

    pub fn build(self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(self.n_tensors.to_le_bytes());
        out.extend(self.n_meta.to_le_bytes());
        out.extend(self.meta);
        out.extend(self.infos);
        while out.len() % 32 != 0 {
            out.push(0);
        }
        out.extend(self.data);
        out
    }
}
