//! Times `Model::batch_grad` (forward + loss + backward, no optimiser) on a workload of
//! docs/spec/workloads.md without Python in the way, for profilers such as `perf`:
//!
//!     cargo run --release --example profile_step -- W-M [steps] [surrogate] [slope]
//!
//! The input weights are scaled until the hidden population fires at 15-35 Hz.
use motorsrnn::forward::{Workspace, CHUNK};
use motorsrnn::model::{Model, Targets};
use motorsrnn::neuron::{Surrogate, SurrogateKind};
use motorsrnn::params::ParamSet;
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::NetworkSpec;
use ndarray::Array3;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map(String::as_str).unwrap_or("W-M");
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let (c, h, k, t, b) = match name {
        "W-S" => (96, 128, 4, 50, 32),
        "W-M" => (128, 256, 8, 500, 64),
        "W-L" => (192, 1024, 8, 500, 32),
        other => panic!("unknown workload {other}"),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Array3::from_shape_fn((b, t, c), |_| (rng.random::<f64>() < 0.02) as u8);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..b).map(|i| i % k).collect();
    let mut spec = NetworkSpec::srnn(c, h, k);
    if let Some(kind) = args.get(3) {
        let kind = match kind.as_str() {
            "triangle" => SurrogateKind::Triangle,
            "fast_sigmoid" => SurrogateKind::FastSigmoid,
            "arctan" => SurrogateKind::Arctan,
            "sigmoid" => SurrogateKind::Sigmoid,
            other => panic!("unknown surrogate {other}"),
        };
        let slope = args.get(4).and_then(|s| s.parse().ok());
        spec.surrogate = Surrogate { kind, slope, smooth: false };
    }
    let mut scale = 0.5 * (96.0f32 / c as f32).sqrt();
    let trials: Vec<usize> = (0..b).collect();
    spec.projections[1].init_scale = 0.1;
    let mut model = Model::<f32>::new(spec.clone(), 0).unwrap();
    for _ in 0..30 {
        spec.projections[0].init_scale = scale as f64;
        model = Model::<f32>::new(spec.clone(), 0).unwrap();
        let sim = model.simulate(&ev, false).unwrap();
        let rate = sim.spikes[0].iter().map(|&v| v as f64).sum::<f64>() / (b * t * h) as f64 * 1000.0;
        if (15.0..=35.0).contains(&rate) {
            eprintln!("{name}: hidden rate {rate:.1} Hz at input scale {scale:.3}");
            break;
        }
        scale *= if rate > 0.0 { (25.0 / rate).sqrt() as f32 } else { 2.0 };
    }
    {
        let sim = model.simulate(&ev, true).unwrap();
        let sg = model.topo.surrogate.compile::<f32>();
        let u = &sim.membrane.unwrap()[0];
        let active = u.iter().filter(|&&v| sg.grad(v - 1.0) != 0.0).count();
        eprintln!("units with a nonzero surrogate derivative: {:.1} %", 100.0 * active as f64 / u.len() as f64);
    }
    let mut ws: Vec<Workspace<f32>> =
        (0..b.div_ceil(CHUNK)).map(|_| Workspace::new(&model.topo, CHUNK).unwrap()).collect();
    let mut total = ParamSet::zeros(&model.topo);
    let targets = Targets::Classes(&y);
    let mut times = Vec::new();
    for i in 0..steps + 2 {
        let t0 = Instant::now();
        model.batch_grad(&ev, &targets, None, None, None, &trials, &mut ws, &mut total).expect("fits in memory");
        if i >= 2 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name}: median {:.2} ms per forward+backward over {} steps", times[times.len() / 2], times.len());
}
