//! Weighted CPU slots, memory and GPU device tokens.

use crate::spec::Resources;
use crate::task::Device;

#[derive(Debug)]
pub struct Pools {
    cpu_total: u32,
    cpu_free: u32,
    mem_total: f64,
    mem_free: f64,
    gpu_total: usize,
    gpus_free: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub cpus: u32,
    pub mem_gb: f64,
    pub gpus: Vec<usize>,
    pub device: Device,
}

#[derive(Debug, PartialEq)]
pub enum Take {
    Granted(Grant),
    /// Fits once running jobs give resources back.
    Wait,
    /// Can never fit in these pools.
    Never(String),
}

impl Pools {
    pub fn new(cpus: u32, mem_gb: f64, gpus: Vec<usize>) -> Pools {
        let cpus = cpus.max(1);
        Pools { cpu_total: cpus, cpu_free: cpus, mem_total: mem_gb, mem_free: mem_gb, gpu_total: gpus.len(), gpus_free: gpus }
    }

    /// GPUs found after the run started (see `GpuPool::Probe`).
    pub fn add_gpus(&mut self, gpus: Vec<usize>) {
        self.gpu_total += gpus.len();
        self.gpus_free.extend(gpus);
        self.gpus_free.sort_unstable();
    }

    pub fn cpu_free(&self) -> u32 {
        self.cpu_free
    }

    /// A request for more CPUs or memory than exist is clamped to all of them (it runs
    /// alone rather than never); a request for GPUs that do not exist cannot be met.
    pub fn try_take(&mut self, r: &Resources) -> Take {
        let cpus = r.cpu.clamp(1, self.cpu_total);
        let mem = r.mem_gb.min(self.mem_total);
        let gpu_wanted = r.gpu as usize;
        let on_cpu = gpu_wanted > 0 && self.gpu_total < gpu_wanted && r.cpu_fallback;
        if gpu_wanted > self.gpu_total && !on_cpu {
            return Take::Never(format!(
                "needs {gpu_wanted} GPU{} but the run has {} (see --gpus; or allow `cpu_fallback: true`)",
                if gpu_wanted == 1 { "" } else { "s" },
                self.gpu_total
            ));
        }
        let gpus_needed = if on_cpu { 0 } else { gpu_wanted };
        if cpus > self.cpu_free || mem > self.mem_free + 1e-9 || gpus_needed > self.gpus_free.len() {
            return Take::Wait;
        }
        self.cpu_free -= cpus;
        self.mem_free -= mem;
        let gpus: Vec<usize> = self.gpus_free.drain(..gpus_needed).collect();
        let device = gpus.first().map_or(Device::Cpu, |&g| Device::Cuda(g));
        Take::Granted(Grant { cpus, mem_gb: mem, gpus, device })
    }

    pub fn give_back(&mut self, g: Grant) {
        self.cpu_free += g.cpus;
        self.mem_free += g.mem_gb;
        self.gpus_free.extend(g.gpus);
        self.gpus_free.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(cpu: u32, gpu: u32, fallback: bool) -> Resources {
        Resources { cpu, gpu, mem_gb: 0.0, mem_gb_attempts: Vec::new(), cpu_fallback: fallback }
    }

    #[test]
    fn gpu_tokens_are_handed_out_and_returned() {
        let mut p = Pools::new(4, 8.0, vec![0, 1]);
        let Take::Granted(a) = p.try_take(&res(1, 1, false)) else { panic!() };
        let Take::Granted(b) = p.try_take(&res(1, 1, false)) else { panic!() };
        assert_eq!((a.device, b.device), (Device::Cuda(0), Device::Cuda(1)));
        assert_eq!(p.try_take(&res(1, 1, false)), Take::Wait);
        p.give_back(b);
        let Take::Granted(c) = p.try_take(&res(1, 1, false)) else { panic!() };
        assert_eq!(c.gpus, vec![1]);
    }

    #[test]
    fn missing_gpus_fail_unless_cpu_fallback() {
        let mut p = Pools::new(2, 8.0, vec![]);
        assert!(matches!(p.try_take(&res(1, 1, false)), Take::Never(_)));
        let Take::Granted(g) = p.try_take(&res(1, 1, true)) else { panic!() };
        assert_eq!(g.device, Device::Cpu);
    }

    #[test]
    fn cpu_weights_limit_concurrency_and_are_clamped() {
        let mut p = Pools::new(2, 8.0, vec![]);
        let Take::Granted(big) = p.try_take(&res(16, 0, false)) else { panic!() };
        assert_eq!(big.cpus, 2);
        assert_eq!(p.try_take(&res(1, 0, false)), Take::Wait);
        p.give_back(big);
        assert!(matches!(p.try_take(&res(1, 0, false)), Take::Granted(_)));
    }
}
