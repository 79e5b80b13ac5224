//! Small trained heads on the encoder's embeddings: multinomial logistic regression on
//! standardised features, trained deterministically (full-batch gradient descent in f64,
//! fixed iterations, no randomness), so `sarap train` reproduces the committed weights.

use crate::AnalyzerError;
use serde::{Deserialize, Serialize};

/// Weights of one head, as committed under `analyzers/heads/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Head id.
    pub id: String,
    /// Class labels in output order.
    pub labels: Vec<String>,
    /// Feature means subtracted before scoring (the embeddings sit in a narrow cone).
    pub mean: Vec<f32>,
    /// Feature scales divided by before scoring.
    pub scale: Vec<f32>,
    /// One weight row per class.
    pub weights: Vec<Vec<f32>>,
    /// One bias per class.
    pub bias: Vec<f32>,
}

/// Training settings; recorded in the card so a run can be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Gradient steps.
    pub iterations: usize,
    /// Step size.
    pub learning_rate: f64,
    /// L2 penalty on the weights.
    pub l2: f64,
    /// Weight classes by inverse frequency (macro-F1 is what is evaluated).
    pub balanced: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            iterations: 400,
            learning_rate: 0.5,
            l2: 1e-3,
            balanced: true,
        }
    }
}

impl Head {
    /// Width of the feature vector the head reads.
    pub fn dims(&self) -> usize {
        self.mean.len()
    }

    /// Class probabilities for one feature vector.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let mut z: Vec<f64> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| {
                let mut s = *b as f64;
                for (i, &xi) in x.iter().enumerate().take(w.len()) {
                    s += w[i] as f64 * ((xi - self.mean[i]) / self.scale[i]) as f64;
                }
                s
            })
            .collect();
        softmax(&mut z);
        z.into_iter().map(|p| p as f32).collect()
    }

    /// Checks that the weights fit together (a hand-edited file could break them).
    pub fn validate(&self, dims: usize) -> Result<(), AnalyzerError> {
        let k = self.labels.len();
        let ok = k >= 2
            && self.mean.len() == dims
            && self.scale.len() == dims
            && self.weights.len() == k
            && self.bias.len() == k
            && self.weights.iter().all(|w| w.len() == dims)
            && self.scale.iter().all(|s| *s > 0.0 && s.is_finite());
        if ok {
            Ok(())
        } else {
            Err(AnalyzerError::Card(format!(
                "head {}: weights do not fit {k} labels over {dims} features",
                self.id
            )))
        }
    }

    /// Trains a head on rows of features with class indices `y` (< `labels.len()`).
    pub fn train(
        id: &str,
        labels: &[&str],
        xs: &[Vec<f32>],
        y: &[usize],
        opts: &TrainOptions,
    ) -> Result<Head, AnalyzerError> {
        let n = xs.len();
        let k = labels.len();
        if n == 0 || n != y.len() || k < 2 || y.iter().any(|&c| c >= k) {
            return Err(AnalyzerError::Card(format!(
                "head {id}: {n} rows, {} labels, {k} classes: nothing to train",
                y.len()
            )));
        }
        let d = xs[0].len();
        let mut mean = vec![0f64; d];
        for x in xs {
            for (m, v) in mean.iter_mut().zip(x) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0f64; d];
        for x in xs {
            for i in 0..d {
                let t = x[i] as f64 - mean[i];
                var[i] += t * t;
            }
        }
        let scale: Vec<f64> = var
            .iter()
            .map(|v| (v / n as f64).sqrt().max(1e-6))
            .collect();
        let z: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| (0..d).map(|i| (x[i] as f64 - mean[i]) / scale[i]).collect())
            .collect();
        let mut counts = vec![0usize; k];
        y.iter().for_each(|&c| counts[c] += 1);
        let cw: Vec<f64> = counts
            .iter()
            .map(|&c| {
                if opts.balanced && c > 0 {
                    n as f64 / (k as f64 * c as f64)
                } else {
                    1.0
                }
            })
            .collect();
        let wsum: f64 = y.iter().map(|&c| cw[c]).sum();
        let mut w = vec![vec![0f64; d]; k];
        let mut b = vec![0f64; k];
        let mut p = vec![0f64; k];
        for _ in 0..opts.iterations {
            let mut gw = vec![vec![0f64; d]; k];
            let mut gb = vec![0f64; k];
            for (zi, &yi) in z.iter().zip(y) {
                for c in 0..k {
                    p[c] = b[c] + dot(&w[c], zi);
                }
                softmax(&mut p);
                for c in 0..k {
                    let g = cw[yi] * (p[c] - if c == yi { 1.0 } else { 0.0 });
                    gb[c] += g;
                    for (gwi, zv) in gw[c].iter_mut().zip(zi) {
                        *gwi += g * zv;
                    }
                }
            }
            for c in 0..k {
                b[c] -= opts.learning_rate * gb[c] / wsum;
                for i in 0..d {
                    w[c][i] -= opts.learning_rate * (gw[c][i] / wsum + opts.l2 * w[c][i]);
                }
            }
        }
        // Five significant digits: enough for the scores, and small diffs between CPUs'
        // int8 kernels rarely change the stored figures.
        let r = |v: f64| round_sig(v, 5) as f32;
        Ok(Head {
            id: id.to_string(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            mean: mean.iter().map(|&v| r(v)).collect(),
            scale: scale.iter().map(|&v| r(v)).collect(),
            weights: w
                .iter()
                .map(|row| row.iter().map(|&v| r(v)).collect())
                .collect(),
            bias: b.iter().map(|&v| r(v)).collect(),
        })
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax(z: &mut [f64]) {
    let m = z.iter().cloned().fold(f64::MIN, f64::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    z.iter_mut().for_each(|v| *v /= s);
}

fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let p = digits - 1 - v.abs().log10().floor() as i32;
    let f = 10f64.powi(p);
    (v * f).round() / f
}

/// Per-class and macro figures of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Items scored.
    pub n: usize,
    /// Precision per class.
    pub precision: Vec<f64>,
    /// Recall per class.
    pub recall: Vec<f64>,
    /// F1 per class.
    pub f1: Vec<f64>,
    /// Mean F1 over classes.
    pub macro_f1: f64,
    /// Share correct.
    pub accuracy: f64,
}

/// Precision, recall and F1 per class of `pred` against `gold`, over `k` classes.
pub fn scores(gold: &[usize], pred: &[usize], k: usize) -> Scores {
    let mut tp = vec![0f64; k];
    let mut fp = vec![0f64; k];
    let mut fnn = vec![0f64; k];
    let mut correct = 0usize;
    for (&g, &p) in gold.iter().zip(pred) {
        if g == p {
            tp[g] += 1.0;
            correct += 1;
        } else {
            fp[p] += 1.0;
            fnn[g] += 1.0;
        }
    }
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let precision: Vec<f64> = (0..k).map(|c| div(tp[c], tp[c] + fp[c])).collect();
    let recall: Vec<f64> = (0..k).map(|c| div(tp[c], tp[c] + fnn[c])).collect();
    let f1: Vec<f64> = (0..k)
        .map(|c| div(2.0 * precision[c] * recall[c], precision[c] + recall[c]))
        .collect();
    Scores {
        n: gold.len(),
        macro_f1: f1.iter().sum::<f64>() / k as f64,
        accuracy: div(correct as f64, gold.len() as f64),
        precision,
        recall,
        f1,
    }
}

/// Macro-F1 of always answering the most frequent gold class.
pub fn majority_macro_f1(gold: &[usize], k: usize) -> f64 {
    let mut counts = vec![0usize; k];
    gold.iter().for_each(|&g| counts[g] += 1);
    let major = (0..k)
        .max_by_key(|&c| (counts[c], std::cmp::Reverse(c)))
        .unwrap_or(0);
    scores(gold, &vec![major; gold.len()], k).macro_f1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_problem_and_is_deterministic() {
        let xs: Vec<Vec<f32>> = (0..60)
            .map(|i| {
                let c = (i % 3) as f32;
                vec![c + 0.1 * (i as f32 % 5.0), 1.0 - c, 0.3]
            })
            .collect();
        let y: Vec<usize> = (0..60).map(|i| i % 3).collect();
        let opts = TrainOptions::default();
        let h = Head::train("t", &["a", "b", "c"], &xs, &y, &opts).unwrap();
        h.validate(3).unwrap();
        let pred: Vec<usize> = xs
            .iter()
            .map(|x| {
                let p = h.predict(x);
                (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
            })
            .collect();
        assert!(scores(&y, &pred, 3).macro_f1 > 0.95);
        assert_eq!(
            h,
            Head::train("t", &["a", "b", "c"], &xs, &y, &opts).unwrap()
        );
        assert!((h.predict(&xs[0]).iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn scores_match_hand_computed_figures() {
        let s = scores(&[0, 0, 1, 1], &[0, 1, 1, 1], 2);
        assert!((s.precision[1] - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.recall[0] - 0.5).abs() < 1e-9);
        assert!((s.accuracy - 0.75).abs() < 1e-9);
        assert!((majority_macro_f1(&[0, 0, 0, 1], 2) - (6.0 / 7.0) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn mismatched_weights_are_refused() {
        let mut h = Head::train(
            "t",
            &["a", "b"],
            &[vec![0.0, 1.0], vec![1.0, 0.0]],
            &[0, 1],
            &TrainOptions::default(),
        )
        .unwrap();
        h.weights.pop();
        assert!(h.validate(2).is_err());
    }
}
