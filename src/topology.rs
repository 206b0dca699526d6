//! Populations, projections and the readout: the user's description of a network ([`NetworkSpec`],
//! serialisable) and its validated, compiled form ([`Topology`]) that the simulation reads.
//!
//! Endpoint names: `"input"` is the recorded spike channels, `"readout"` the leaky output
//! integrators; every other name is a spiking population. Projection kinds:
//! - `feedforward`: reads the source's spikes of the same step (sources are updated first, in
//!   topological order; the same-step graph must be acyclic),
//! - `recurrent` (source = target) and `feedback` (source != target): read the previous step's spikes.

use crate::error::{Error, Result};
use crate::neuron::{decay, Reset, Surrogate};
use serde::{Deserialize, Serialize};

/// The largest number of parameters (weights, biases, decays) of a network: 2^28, i.e. 1 GiB per
/// copy in float32 (training holds about six copies: parameters, gradients, Adam's two moments,
/// per-chunk gradients).
pub const MAX_PARAMETERS: u64 = 1 << 28;

/// The largest standard deviation of a projection's initial weights, far below float32's largest
/// value (about 3.4e38) so that no draw overflows.
pub const MAX_INIT_STD: f64 = 1e30;

/// A time constant in ms: one value for the population or one per neuron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeConstant {
    Shared(f64),
    PerNeuron(Vec<f64>),
}

impl TimeConstant {
    fn per_neuron(&self, n: usize, dt: f64, what: &str, pop: &str) -> Result<Vec<f64>> {
        let taus = match self {
            TimeConstant::Shared(t) => vec![*t; n],
            TimeConstant::PerNeuron(v) => {
                if v.len() != n {
                    return Err(Error::InvalidTopology(format!(
                        "population '{pop}': {what} has {} values for {n} neurons",
                        v.len()
                    )));
                }
                v.clone()
            }
        };
        taus.iter().map(|&t| decay(t, dt, &format!("{what} of population '{pop}'"))).collect()
    }
}

/// How a classifier turns the readout traces `O[t]` into logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReadoutMode {
    /// Mean over time of `O[t]`.
    #[default]
    Mean,
    /// Maximum over time of `O[t]` (per output).
    Max,
    /// `O[T-1]`.
    Last,
}

/// Sign constraint of a projection (Dale's law): all its weights stay >= 0 or <= 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    Excitatory,
    Inhibitory,
}

impl Sign {
    /// +1 or -1.
    pub fn factor(self) -> f64 {
        match self {
            Sign::Excitatory => 1.0,
            Sign::Inhibitory => -1.0,
        }
    }
}

/// Timing class of a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionKind {
    #[default]
    Feedforward,
    Recurrent,
    Feedback,
}

fn d_tau_mem() -> TimeConstant {
    TimeConstant::Shared(20.0)
}
fn d_tau_syn() -> TimeConstant {
    TimeConstant::Shared(5.0)
}
fn d_one() -> f64 {
    1.0
}
fn d_true() -> bool {
    true
}
fn d_tau_out() -> f64 {
    20.0
}

/// A population of LIF neurons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSpec {
    pub name: String,
    pub size: usize,
    #[serde(default = "d_tau_mem")]
    pub tau_mem: TimeConstant,
    #[serde(default = "d_tau_syn")]
    pub tau_syn: TimeConstant,
    #[serde(default = "d_one")]
    pub threshold: f64,
    #[serde(default)]
    pub reset: Reset,
    #[serde(default = "d_true")]
    pub detach_reset: bool,
    /// Train the per-neuron decay factors `alpha` and `beta` (i.e. the time constants).
    #[serde(default)]
    pub trainable_tau: bool,
}

/// A weight matrix from a source (input or population) to a target (population or readout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionSpec {
    /// Key in `get_weights()`; defaults to `"source->target"`.
    #[serde(default)]
    pub name: Option<String>,
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub kind: ProjectionKind,
    /// Fixed projections keep their initial weights during training.
    #[serde(default = "d_true")]
    pub trainable: bool,
    /// Fraction of connections present (a fixed random binary mask); `None` = dense.
    #[serde(default)]
    pub density: Option<f64>,
    /// Initial weights are drawn from N(0, init_scale^2 / (density * n_source)) (their absolute
    /// value times the sign when a sign is set).
    #[serde(default = "d_one")]
    pub init_scale: f64,
    /// Optional sign constraint, kept during training (weights are clipped at zero after each step).
    #[serde(default)]
    pub sign: Option<Sign>,
    /// Multiplies the optimiser's learning rate for this projection (1 = the global rate). Adam
    /// moves every weight by about the learning rate per step whatever the weight's scale, so
    /// projections initialised small (recurrent ones) can use a smaller step.
    #[serde(default = "d_one")]
    pub lr_scale: f64,
}

impl ProjectionSpec {
    /// A dense, unconstrained, trainable projection with the defaults a description may omit
    /// (`init_scale` and `lr_scale` 1, no name); set the other fields on the result.
    pub fn new(source: &str, target: &str, kind: ProjectionKind) -> ProjectionSpec {
        ProjectionSpec {
            name: None,
            source: source.to_string(),
            target: target.to_string(),
            kind,
            trainable: true,
            density: None,
            init_scale: 1.0,
            sign: None,
            lr_scale: 1.0,
        }
    }

    /// The name this projection goes by.
    pub fn key(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("{}->{}", self.source, self.target))
    }
}

/// The whole network description. Serialisable (JSON from Python, MessagePack in model files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub n_inputs: usize,
    pub n_outputs: usize,
    #[serde(default = "d_one")]
    pub dt: f64,
    #[serde(default = "d_tau_out")]
    pub tau_out: f64,
    #[serde(default)]
    pub readout: ReadoutMode,
    #[serde(default)]
    pub surrogate: Surrogate,
    pub populations: Vec<PopulationSpec>,
    pub projections: Vec<ProjectionSpec>,
}

impl NetworkSpec {
    /// The single-population recurrent network: input -> `h` (recurrent) -> readout, with the
    /// weight keys `w_in`, `w_rec`, `w_out` (biases `b_h`, `b_out`).
    pub fn srnn(n_inputs: usize, n_hidden: usize, n_outputs: usize) -> NetworkSpec {
        let proj = |name: &str, source: &str, target: &str, kind| ProjectionSpec {
            name: Some(name.to_string()),
            ..ProjectionSpec::new(source, target, kind)
        };
        NetworkSpec {
            n_inputs,
            n_outputs,
            dt: 1.0,
            tau_out: 20.0,
            readout: ReadoutMode::Mean,
            surrogate: Surrogate::default(),
            populations: vec![PopulationSpec {
                name: "h".into(),
                size: n_hidden,
                tau_mem: d_tau_mem(),
                tau_syn: d_tau_syn(),
                threshold: 1.0,
                reset: Reset::Subtract,
                detach_reset: true,
                trainable_tau: false,
            }],
            projections: vec![
                proj("w_in", "input", "h", ProjectionKind::Feedforward),
                proj("w_rec", "h", "h", ProjectionKind::Recurrent),
                proj("w_out", "h", "readout", ProjectionKind::Feedforward),
            ],
        }
    }
}

/// Where a projection starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Input,
    Pop(usize),
    Readout,
}

/// A validated population with per-neuron decay factors.
#[derive(Debug, Clone)]
pub struct Population {
    pub name: String,
    pub size: usize,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    pub theta: f64,
    pub reset: Reset,
    pub detach_reset: bool,
    pub trainable_tau: bool,
}

/// A validated projection.
#[derive(Debug, Clone)]
pub struct Projection {
    pub key: String,
    pub source: Endpoint,
    pub target: Endpoint,
    /// Reads the previous step's spikes (recurrent and feedback projections).
    pub delayed: bool,
    pub n_source: usize,
    pub n_target: usize,
    pub trainable: bool,
    pub density: Option<f64>,
    pub init_scale: f64,
    pub sign: Option<Sign>,
    pub lr_scale: f64,
}

/// The compiled topology: what the forward and backward passes iterate over.
#[derive(Debug, Clone)]
pub struct Topology {
    pub n_inputs: usize,
    pub n_outputs: usize,
    pub pops: Vec<Population>,
    pub projs: Vec<Projection>,
    /// Population indices in the order they are updated within a step.
    pub order: Vec<usize>,
    /// For each population, the projections that end in it.
    pub into: Vec<Vec<usize>>,
    /// For each population, the projections that start from it (including readout ones).
    pub out_of: Vec<Vec<usize>>,
    /// Projections that end in the readout.
    pub readout: Vec<usize>,
    pub beta_out: f64,
    pub mode: ReadoutMode,
    pub surrogate: Surrogate,
    pub dt: f64,
}

impl Topology {
    /// Validates a spec and derives the update order.
    /// One cycle of same-step projections among the populations Kahn's algorithm could not order
    /// (`stuck`), as `"a -> b -> a"`: walking back from a stuck population along same-step
    /// projections from stuck populations must meet itself (each has such a projection).
    fn cycle_names(projs: &[Projection], pops: &[Population], stuck: &[bool]) -> String {
        let pred = |v: usize| {
            projs.iter().filter(|p| !p.delayed).find_map(|p| match (p.source, p.target) {
                (Endpoint::Pop(s), Endpoint::Pop(t)) if t == v && stuck[s] => Some(s),
                _ => None,
            })
        };
        let mut back: Vec<usize> = stuck.iter().position(|&s| s).into_iter().collect();
        while let Some(u) = back.last().and_then(|&v| pred(v)) {
            if let Some(at) = back.iter().position(|&x| x == u) {
                let mut cycle: Vec<&str> = back[at..].iter().rev().map(|&i| pops[i].name.as_str()).collect();
                cycle.push(cycle[0]);
                return cycle.join(" -> ");
            }
            back.push(u);
        }
        let names: Vec<&str> = (0..stuck.len()).filter(|&i| stuck[i]).map(|i| pops[i].name.as_str()).collect();
        format!("through {names:?}")
    }

    pub fn compile(spec: &NetworkSpec) -> Result<Topology> {
        let bad = |m: String| Err(Error::InvalidTopology(m));
        if spec.n_inputs == 0 {
            return bad("n_inputs must be at least 1".into());
        }
        if spec.n_outputs == 0 {
            return bad("n_outputs must be at least 1".into());
        }
        if spec.n_inputs as u64 > MAX_PARAMETERS || spec.n_outputs as u64 > MAX_PARAMETERS {
            return bad(format!(
                "{} inputs and {} outputs: more than this build accepts",
                spec.n_inputs, spec.n_outputs
            ));
        }
        if !(spec.dt.is_finite() && spec.dt > 0.0) {
            return Err(Error::InvalidInput(format!("dt must be a finite positive number (ms), got {}", spec.dt)));
        }
        spec.surrogate.validate()?;
        if spec.populations.is_empty() {
            return bad("at least one population is needed".into());
        }
        let mut pops = Vec::with_capacity(spec.populations.len());
        // Biases and decay factors: 3 parameters per neuron, counted as the populations are read so
        // that many large populations are refused before their decay factors are allocated.
        let mut neuron_params: u64 = 0;
        for p in &spec.populations {
            if p.name.is_empty() {
                return bad("a population's name must be a non-empty string".into());
            }
            if p.name == "input" || p.name == "readout" {
                return bad(format!(
                    "'{}' cannot name a population (reserved: 'input' and 'readout' are the projections' endpoints)",
                    p.name
                ));
            }
            if p.name == "out" {
                return bad("'out' cannot name a population: its bias 'b_out' would be the readout bias's key".into());
            }
            if pops.iter().any(|q: &Population| q.name == p.name) {
                return bad(format!("population '{}' is defined twice", p.name));
            }
            if p.size == 0 {
                return bad(format!("population '{}' has size 0", p.name));
            }
            if p.size as u64 > MAX_PARAMETERS {
                return bad(format!("population '{}' has {} neurons, more than this build accepts", p.name, p.size));
            }
            neuron_params = neuron_params.saturating_add(3 * p.size as u64);
            if neuron_params > MAX_PARAMETERS {
                return bad(format!(
                    "the populations up to '{}' have {neuron_params} biases and decay factors, more than the \
                     {MAX_PARAMETERS} parameters this build accepts (reduce the population sizes)",
                    p.name
                ));
            }
            if !(p.threshold.is_finite() && p.threshold > 0.0) {
                return Err(Error::InvalidInput(format!(
                    "threshold of population '{}' must be a finite positive number, got {}",
                    p.name, p.threshold
                )));
            }
            pops.push(Population {
                name: p.name.clone(),
                size: p.size,
                alpha: Vec::new(), // per neuron, filled once the parameter count is known to fit
                beta: Vec::new(),
                theta: p.threshold,
                reset: p.reset,
                detach_reset: p.detach_reset,
                trainable_tau: p.trainable_tau,
            });
        }
        let find = |name: &str| pops.iter().position(|p| p.name == name);
        let mut projs: Vec<Projection> = Vec::with_capacity(spec.projections.len());
        for s in &spec.projections {
            let key = s.key();
            if projs.iter().any(|p| p.key == key) {
                return bad(format!("two projections are named '{key}'"));
            }
            if key == "b_out"
                || pops.iter().any(|p| ["b_", "alpha_", "beta_"].iter().any(|pre| key == format!("{pre}{}", p.name)))
            {
                return bad(format!(
                    "projection '{key}': the name is the key of a bias or decay parameter (b_<population>, \
                     alpha_<population>, beta_<population>, b_out); choose another name"
                ));
            }
            let source = match s.source.as_str() {
                "input" => Endpoint::Input,
                "readout" => return bad(format!("projection '{key}': the readout cannot be a source")),
                n => Endpoint::Pop(find(n).ok_or_else(|| {
                    Error::InvalidTopology(format!("projection '{key}': unknown source population '{n}'"))
                })?),
            };
            let target = match s.target.as_str() {
                "readout" => Endpoint::Readout,
                "input" => return bad(format!("projection '{key}': the input cannot be a target")),
                n => Endpoint::Pop(find(n).ok_or_else(|| {
                    Error::InvalidTopology(format!("projection '{key}': unknown target population '{n}'"))
                })?),
            };
            let size = |e: Endpoint| match e {
                Endpoint::Input => spec.n_inputs,
                Endpoint::Readout => spec.n_outputs,
                Endpoint::Pop(i) => pops[i].size,
            };
            let delayed = match s.kind {
                ProjectionKind::Feedforward => false,
                ProjectionKind::Recurrent | ProjectionKind::Feedback => true,
            };
            if delayed && (source == Endpoint::Input || target == Endpoint::Readout) {
                return bad(format!("projection '{key}': input and readout projections must be feedforward"));
            }
            if s.kind == ProjectionKind::Recurrent && source != target {
                return bad(format!("projection '{key}': a recurrent projection must start and end in the same population (use 'feedback')"));
            }
            if s.kind == ProjectionKind::Feedback && source == target {
                return bad(format!(
                    "projection '{key}': a feedback projection must join two populations (use 'recurrent')"
                ));
            }
            if let Some(d) = s.density {
                if !(d > 0.0 && d <= 1.0) {
                    return bad(format!("projection '{key}': density must be in (0, 1], got {d}"));
                }
            }
            if !(s.init_scale.is_finite() && s.init_scale >= 0.0) {
                return bad(format!("projection '{key}': init_scale must be finite and >= 0, got {}", s.init_scale));
            }
            // The initial weights are drawn with this standard deviation, then stored as float32.
            let init_std = s.init_scale / (s.density.unwrap_or(1.0) * size(source) as f64).sqrt();
            if !(init_std.is_finite() && init_std <= MAX_INIT_STD) {
                return bad(format!(
                    "projection '{key}': init_scale / sqrt(density * n_source) = {init_std:e} is too large (at most \
                     {MAX_INIT_STD:e}, so that the initial weights are finite in float32); lower init_scale or raise density"
                ));
            }
            if !(s.lr_scale.is_finite() && s.lr_scale >= 0.0) {
                return bad(format!("projection '{key}': lr_scale must be finite and >= 0, got {}", s.lr_scale));
            }
            projs.push(Projection {
                key,
                source,
                target,
                delayed,
                n_source: size(source),
                n_target: size(target),
                trainable: s.trainable,
                density: s.density,
                init_scale: s.init_scale,
                sign: s.sign,
                lr_scale: s.lr_scale,
            });
        }
        // Refuse networks whose parameters alone would not fit in memory, before allocating.
        let mut n_params: u64 = 0;
        for p in &projs {
            n_params = n_params.saturating_add((p.n_source as u64).saturating_mul(p.n_target as u64));
        }
        n_params = n_params.saturating_add(pops.iter().map(|p| 3 * p.size as u64).sum::<u64>());
        if n_params > MAX_PARAMETERS {
            return bad(format!(
                "the network has {n_params} parameters, more than the {MAX_PARAMETERS} this build accepts (reduce the population sizes)"
            ));
        }
        for (pop, p) in pops.iter_mut().zip(&spec.populations) {
            pop.alpha = p.tau_syn.per_neuron(p.size, spec.dt, "tau_syn", &p.name)?;
            pop.beta = p.tau_mem.per_neuron(p.size, spec.dt, "tau_mem", &p.name)?;
        }
        let n = pops.len();
        let mut into = vec![Vec::new(); n];
        let mut out_of = vec![Vec::new(); n];
        let mut readout = Vec::new();
        for (k, p) in projs.iter().enumerate() {
            if let Endpoint::Pop(t) = p.target {
                into[t].push(k);
            } else {
                readout.push(k);
            }
            if let Endpoint::Pop(s) = p.source {
                out_of[s].push(k);
            }
        }
        if readout.is_empty() {
            return bad("no projection ends in the readout".into());
        }
        if !projs.iter().any(|p| p.source == Endpoint::Input) {
            return bad("no projection starts from the input".into());
        }
        // Topological order of the same-step (feedforward) graph between populations (Kahn).
        let mut indeg = vec![0usize; n];
        for p in projs.iter().filter(|p| !p.delayed) {
            if let (Endpoint::Pop(_), Endpoint::Pop(t)) = (p.source, p.target) {
                indeg[t] += 1;
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut ready: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        while let Some(i) = ready.first().copied() {
            ready.remove(0);
            order.push(i);
            for p in projs.iter().filter(|p| !p.delayed && p.source == Endpoint::Pop(i)) {
                if let Endpoint::Pop(t) = p.target {
                    indeg[t] -= 1;
                    if indeg[t] == 0 {
                        ready.push(t);
                    }
                }
            }
        }
        if order.len() < n {
            let stuck: Vec<bool> = (0..n).map(|i| !order.contains(&i)).collect();
            return bad(format!(
                "the feedforward (same-step) projections form a cycle: {}; make one of them kind='feedback' \
                 (or kind='recurrent' for a population's projection onto itself), which reads the previous step",
                Self::cycle_names(&projs, &pops, &stuck)
            ));
        }
        Ok(Topology {
            n_inputs: spec.n_inputs,
            n_outputs: spec.n_outputs,
            pops,
            projs,
            order,
            into,
            out_of,
            readout,
            beta_out: decay(spec.tau_out, spec.dt, "tau_out")?,
            mode: spec.readout,
            surrogate: spec.surrogate,
            dt: spec.dt,
        })
    }

    /// Number of neurons in all populations.
    pub fn n_neurons(&self) -> usize {
        self.pops.iter().map(|p| p.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srnn_compiles() {
        let t = Topology::compile(&NetworkSpec::srnn(10, 20, 4)).unwrap();
        assert_eq!(t.order, vec![0]);
        assert_eq!(t.projs[1].key, "w_rec");
        assert!(t.projs[1].delayed && !t.projs[0].delayed);
        assert_eq!(t.readout, vec![2]);
        assert!((t.pops[0].alpha[0] - (-0.2f64).exp()).abs() < 1e-15);
    }

    fn two_pops() -> NetworkSpec {
        let mut s = NetworkSpec::srnn(10, 20, 4);
        s.populations.push(PopulationSpec { name: "b".into(), ..s.populations[0].clone() });
        s.projections.push(ProjectionSpec::new("b", "h", ProjectionKind::Feedforward));
        s
    }

    #[test]
    fn huge_networks_are_refused_before_allocating() {
        let e = Topology::compile(&NetworkSpec::srnn(10, 100_000, 4)).unwrap_err().to_string();
        assert!(e.contains("parameters, more than"), "{e}");
        let e = Topology::compile(&NetworkSpec::srnn(10, usize::MAX, 4)).unwrap_err().to_string();
        assert!(e.contains("neurons, more than"), "{e}");
        assert!(Topology::compile(&NetworkSpec::srnn(usize::MAX, 4, 4)).is_err());
        // many populations, each within the limit alone: refused before their decays are allocated
        let mut s = NetworkSpec::srnn(10, 1 << 26, 4);
        for i in 0..64 {
            s.populations.push(PopulationSpec { name: format!("p{i}"), ..s.populations[0].clone() });
        }
        let e = Topology::compile(&s).unwrap_err().to_string();
        assert!(e.contains("biases and decay factors, more than"), "{e}");
    }

    #[test]
    fn initial_weights_too_large_for_float32_rejected() {
        for (scale, density) in [(1e300, Some(1e-300)), (1e39, None), (f64::MAX, None)] {
            let mut s = NetworkSpec::srnn(10, 20, 4);
            s.projections[0].init_scale = scale;
            s.projections[0].density = density;
            let e = Topology::compile(&s).unwrap_err().to_string();
            assert!(e.contains("projection 'w_in': init_scale / sqrt(density * n_source)"), "{e}");
        }
    }

    #[test]
    fn update_order_follows_feedforward_edges() {
        let t = Topology::compile(&two_pops()).unwrap();
        assert_eq!(t.order, vec![1, 0]);
        assert_eq!(t.projs[3].key, "b->h");
    }

    #[test]
    fn feedforward_cycle_rejected_feedback_accepted() {
        let mut s = two_pops();
        s.projections.push(ProjectionSpec { source: "h".into(), target: "b".into(), ..s.projections[3].clone() });
        let e = Topology::compile(&s).unwrap_err();
        assert!(matches!(e, Error::InvalidTopology(ref m) if m.contains("cycle: b -> h -> b")), "{e}");
        s.projections[4].kind = ProjectionKind::Feedback;
        assert!(Topology::compile(&s).is_ok());
        // the message names the cycle, not every population downstream of it: c after a self-loop on b
        let mut s = two_pops();
        s.populations.push(PopulationSpec { name: "c".into(), ..s.populations[0].clone() });
        s.projections.push(ProjectionSpec::new("b", "b", ProjectionKind::Feedforward));
        s.projections.push(ProjectionSpec::new("h", "c", ProjectionKind::Feedforward));
        let e = Topology::compile(&s).unwrap_err().to_string();
        assert!(e.contains("cycle: b -> b;") && e.contains("kind='recurrent'"), "{e}");
    }

    #[test]
    fn names_that_would_share_a_parameter_key_rejected() {
        // a population 'out' would have the readout bias's key b_out
        let mut s = NetworkSpec::srnn(10, 20, 4);
        s.populations[0].name = "out".into();
        for p in &mut s.projections {
            for end in [&mut p.source, &mut p.target] {
                if end == "h" {
                    *end = "out".into();
                }
            }
        }
        let e = Topology::compile(&s).unwrap_err().to_string();
        assert!(e.contains("'out' cannot name a population"), "{e}");
        // a projection named like a bias or a decay would hide it
        for name in ["b_h", "alpha_h", "beta_h", "b_out"] {
            let mut s = NetworkSpec::srnn(10, 20, 4);
            s.projections[0].name = Some(name.into());
            let e = Topology::compile(&s).unwrap_err().to_string();
            assert!(e.contains(&format!("projection '{name}': the name is the key of a bias")), "{e}");
        }
        let mut s = NetworkSpec::srnn(10, 20, 4);
        s.projections[0].name = Some("b_input".into()); // not a parameter key: accepted
        assert!(Topology::compile(&s).is_ok());
    }

    #[test]
    fn unknown_population_and_bad_sizes_rejected() {
        let mut s = NetworkSpec::srnn(10, 20, 4);
        s.projections[1].source = "nowhere".into();
        let e = Topology::compile(&s).unwrap_err().to_string();
        assert!(e.contains("unknown source population 'nowhere'"), "{e}");
        let mut s = NetworkSpec::srnn(10, 20, 4);
        s.populations[0].tau_mem = TimeConstant::PerNeuron(vec![20.0; 3]);
        assert!(Topology::compile(&s).unwrap_err().to_string().contains("3 values for 20 neurons"));
        let mut s = NetworkSpec::srnn(10, 20, 4);
        s.projections[0].kind = ProjectionKind::Feedback;
        assert!(Topology::compile(&s).is_err());
        let mut s = NetworkSpec::srnn(10, 0, 4);
        assert!(Topology::compile(&s).is_err());
        s.populations[0].size = 5;
        s.projections.retain(|p| p.target != "readout");
        assert!(Topology::compile(&s).unwrap_err().to_string().contains("readout"));
    }
}
