//! Which SIMD kernels run: detected once at run time, overridable for tests and benchmarks.
use std::sync::OnceLock;

/// An instruction set the kernels are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust, the reference every other path is tested against.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C (`maddubs` integer dot products).
    Avx2,
    /// AVX2 with AVX-VNNI (`vpdpbusd` on 256-bit registers).
    AvxVnni,
    /// AVX-512 F/BW/VL with VNNI on 512-bit registers: 64 values per instruction.
    Avx512Vnni,
    /// aarch64 NEON (`smull` + pairwise accumulate).
    Neon,
    /// wasm32 `simd128`.
    Simd128,
}

impl Isa {
    /// Every kernel path this machine can run, best last.
    pub fn available() -> Vec<Isa> {
        let mut out = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            let base = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c");
            if base {
                out.push(Isa::Avx2);
                if is_x86_feature_detected!("avxvnni") {
                    out.push(Isa::AvxVnni);
                }
                if is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512vnni")
                {
                    out.push(Isa::Avx512Vnni);
                }
            }
        }
        #[cfg(target_arch = "aarch64")]
        if std::arch::is_aarch64_feature_detected!("neon") {
            out.push(Isa::Neon);
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        out.push(Isa::Simd128);
        out
    }

    /// The best path available, detected once. `RF_ISA=scalar|avx2|avx-vnni|avx512-vnni|neon|simd128`
    /// picks a slower one (an unavailable choice is ignored).
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            let available = Isa::available();
            let wanted = std::env::var("RF_ISA").ok().and_then(|v| Isa::from_name(&v));
            match wanted {
                Some(isa) if available.contains(&isa) => isa,
                _ => *available.last().unwrap_or(&Isa::Scalar),
            }
        })
    }

    /// The name used by `RF_ISA` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::AvxVnni => "avx-vnni",
            Isa::Avx512Vnni => "avx512-vnni",
            Isa::Neon => "neon",
            Isa::Simd128 => "simd128",
        }
    }

    /// The path of that name.
    pub fn from_name(name: &str) -> Option<Isa> {
        [Isa::Scalar, Isa::Avx2, Isa::AvxVnni, Isa::Avx512Vnni, Isa::Neon, Isa::Simd128]
            .into_iter()
            .find(|i| i.name() == name)
    }
}
