//! [`Compute`]: the kernel choice and the threads a matmul runs on.
use crate::isa::Isa;

/// Where matmuls run: one [`Isa`] and, natively, a thread pool that splits rows.
pub struct Compute {
    isa: Isa,
    #[cfg(not(target_arch = "wasm32"))]
    pool: crate::pool::ThreadPool,
}

impl std::fmt::Debug for Compute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Compute({}, {} threads)", self.isa.name(), self.threads())
    }
}

impl Compute {
    /// The best kernels on `threads` threads (1 on wasm32, which has no threads here).
    pub fn new(threads: usize) -> Self {
        Self::build(Isa::best(), threads)
    }

    /// The kernels of `isa`, if this machine has them.
    pub fn with_isa(isa: Isa, threads: usize) -> crate::Result<Self> {
        if !Isa::available().contains(&isa) {
            return Err(crate::QuantError::IsaUnavailable(isa));
        }
        Ok(Self::build(isa, threads))
    }

    fn build(isa: Isa, threads: usize) -> Self {
        #[cfg(target_arch = "wasm32")]
        let _ = threads;
        Self {
            isa,
            #[cfg(not(target_arch = "wasm32"))]
            pool: crate::pool::ThreadPool::new(threads.max(1)),
        }
    }

    /// `RF_THREADS` if set to a positive number, else the machine's parallelism.
    pub fn default_threads() -> usize {
        std::env::var("RF_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    pub fn threads(&self) -> usize {
        #[cfg(not(target_arch = "wasm32"))]
        return self.pool.threads();
        #[cfg(target_arch = "wasm32")]
        return 1;
    }

    /// Runs `f(i)` for every thread index `i` in `0..threads()` and waits for all.
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        #[cfg(not(target_arch = "wasm32"))]
        self.pool.run(f);
        #[cfg(target_arch = "wasm32")]
        f(0);
    }
}

impl Compute {
    /// Calls `f(i, chunk)` for every `chunk_len`-sized chunk of `data` (the last may be
    /// shorter), chunks spread over the threads.
    pub fn for_each_chunk<T: Send>(&self, data: &mut [T], chunk_len: usize, f: &(dyn Fn(usize, &mut [T]) + Sync)) {
        let chunk_len = chunk_len.max(1);
        let (len, count, threads) = (data.len(), data.len().div_ceil(chunk_len), self.threads());
        let base = SendPtr(data.as_mut_ptr());
        self.run(&|t| {
            let base = &base;
            for i in (t..count).step_by(threads) {
                let start = i * chunk_len;
                // SAFETY: chunk `i` is in bounds and visited by exactly one thread (`i % threads`),
                // so the mutable slices never overlap; `data` outlives `run`.
                let chunk = unsafe { std::slice::from_raw_parts_mut(base.0.add(start), chunk_len.min(len - start)) };
                f(i, chunk);
            }
        });
    }
}

struct SendPtr<T>(*mut T);
// SAFETY: used only to hand disjoint chunks of one slice of `T: Send` to the pool's threads.
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl Default for Compute {
    fn default() -> Self {
        Self::new(Self::default_threads())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_is_visited_once_with_its_index() {
        let compute = Compute::new(3);
        let mut data = vec![0usize; 10];
        compute.for_each_chunk(&mut data, 3, &|i, chunk| chunk.iter_mut().for_each(|v| *v += i + 1));
        assert_eq!(data, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4]);
    }
}
