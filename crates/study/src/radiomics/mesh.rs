//! A marching-cubes surface of the mask (vertices at the midpoints of edges whose two voxels
//! differ), for the four mesh features and the diameters.
//!
//! The vertices are exactly PyRadiomics', so the diameters match it. Its triangles are not:
//! PyRadiomics triangulates each cube from its own table, while ours are derived here from
//! the cube's configuration (faces with two inside corners on a diagonal keep them apart;
//! each polygon is fanned from its first vertex). A polygon that is not flat can be
//! triangulated in more than one way, so MeshVolume, SurfaceArea and what follows from them
//! differ from PyRadiomics' by a small amount (the tests measure it).

use super::Roi;
use std::sync::OnceLock;

pub struct Mesh {
    pub vertices: Vec<[f64; 3]>,
    pub volume: f64,
    pub area: f64,
}

/// The cube's corners as (z, y, x) offsets; corner k is bit k of a configuration.
const CORNERS: [[usize; 3]; 8] = [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]];

/// Triangles per configuration, each vertex as (z, y, x) in half-voxel units (0, 1 or 2).
type Table = Vec<Vec<[[u8; 3]; 3]>>;

impl Mesh {
    pub fn of(roi: &Roi) -> Mesh {
        // Padded by one voxel on every side, as PyRadiomics pads, so the surface closes.
        let [nz, ny, nx] = roi.shape.map(|n| n + 2);
        let inside = |z: usize, y: usize, x: usize| -> bool {
            if z == 0 || y == 0 || x == 0 || z > roi.shape[0] || y > roi.shape[1] || x > roi.shape[2] {
                return false;
            }
            roi.mask[((z - 1) * roi.shape[1] + (y - 1)) * roi.shape[2] + (x - 1)]
        };
        let s = roi.spacing;
        let table = table();
        let (mut vertices, mut volume, mut area) = (Vec::new(), 0.0, 0.0);
        for z in 0..nz - 1 {
            for y in 0..ny - 1 {
                for x in 0..nx - 1 {
                    let mut config = 0usize;
                    for (k, c) in CORNERS.iter().enumerate() {
                        if inside(z + c[0], y + c[1], x + c[2]) {
                            config |= 1 << k;
                        }
                    }
                    // Each grid edge once: the three edges from the cube's far corner (1,1,1)
                    // back along each axis, written as PyRadiomics writes them.
                    let far = inside(z + 1, y + 1, x + 1);
                    let (fz, fy, fx) = ((z as f64 + 1.0) * s[0], (y as f64 + 1.0) * s[1], (x as f64 + 1.0) * s[2]);
                    if inside(z + 1, y + 1, x) != far {
                        vertices.push([fz, fy, (x as f64 + 0.5) * s[2]]);
                    }
                    if inside(z + 1, y, x + 1) != far {
                        vertices.push([fz, (y as f64 + 0.5) * s[1], fx]);
                    }
                    if inside(z, y + 1, x + 1) != far {
                        vertices.push([(z as f64 + 0.5) * s[0], fy, fx]);
                    }
                    for t in &table[config] {
                        let p = t.map(|v| [(z as f64 + v[0] as f64 / 2.0) * s[0], (y as f64 + v[1] as f64 / 2.0) * s[1], (x as f64 + v[2] as f64 / 2.0) * s[2]]);
                        volume += dot(cross(p[0], p[1]), p[2]);
                        area += 0.5 * norm(cross(sub(p[1], p[0]), sub(p[2], p[0])));
                    }
                }
            }
        }
        Mesh { vertices, volume: volume / 6.0, area }
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| (0..256).map(triangles).collect())
}

/// The triangles of one configuration, oriented outwards (from inside corners to outside).
fn triangles(config: usize) -> Vec<[[u8; 3]; 3]> {
    let inside = |c: [usize; 3]| config >> CORNERS.iter().position(|&k| k == c).expect("a corner") & 1 == 1;
    // The midpoint of the edge between two corners, in half units.
    let mid = |a: [usize; 3], b: [usize; 3]| [(a[0] + b[0]) as u8, (a[1] + b[1]) as u8, (a[2] + b[2]) as u8];
    // On each face, segments between the crossings of its four edges.
    let mut segments: Vec<([u8; 3], [u8; 3])> = Vec::new();
    for axis in 0..3 {
        for side in 0..2 {
            let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
            let corner = |a: usize, b: usize| {
                let mut c = [0; 3];
                c[axis] = side;
                c[u] = a;
                c[v] = b;
                c
            };
            let ring = [corner(0, 0), corner(1, 0), corner(1, 1), corner(0, 1)];
            let crossings: Vec<usize> = (0..4).filter(|&k| inside(ring[k]) != inside(ring[(k + 1) % 4])).collect();
            let point = |k: usize| mid(ring[k], ring[(k + 1) % 4]);
            match crossings.len() {
                2 => segments.push((point(crossings[0]), point(crossings[1]))),
                4 => {
                    // Two inside corners on a diagonal: cut each off on its own.
                    let first_in = inside(ring[0]);
                    let (a, b) = if first_in { ((3, 0), (1, 2)) } else { ((0, 1), (2, 3)) };
                    segments.push((point(a.0), point(a.1)));
                    segments.push((point(b.0), point(b.1)));
                }
                _ => {}
            }
        }
    }
    // Chain the segments into closed polygons (each crossing lies on two faces).
    let mut out = Vec::new();
    while let Some((start, mut next)) = segments.pop() {
        let mut poly = vec![start];
        while next != start {
            poly.push(next);
            let k = segments.iter().position(|s| s.0 == next || s.1 == next).expect("a closed polygon");
            let s = segments.swap_remove(k);
            next = if s.0 == next { s.1 } else { s.0 };
        }
        orient(&mut poly, &inside);
        for k in 1..poly.len() - 1 {
            out.push([poly[0], poly[k], poly[k + 1]]);
        }
    }
    out
}

/// Turns a polygon to face away from the inside: its normal must point down the gradient of
/// the trilinear interpolation of the corners (1 inside, 0 outside), taken over its vertices.
fn orient(poly: &mut [[u8; 3]], inside: &dyn Fn([usize; 3]) -> bool) {
    let f = |c: [usize; 3]| if inside(c) { 1.0 } else { 0.0 };
    let grad = |p: [f64; 3]| -> [f64; 3] {
        let mut g = [0.0; 3];
        for c in super::mesh::CORNERS {
            let w: Vec<f64> = (0..3).map(|d| if c[d] == 1 { p[d] } else { 1.0 - p[d] }).collect();
            for d in 0..3 {
                let dw = if c[d] == 1 { 1.0 } else { -1.0 };
                g[d] += f(c) * dw * w[(d + 1) % 3] * w[(d + 2) % 3];
            }
        }
        g
    };
    let pts: Vec<[f64; 3]> = poly.iter().map(|v| v.map(|c| c as f64 / 2.0)).collect();
    let mut normal = [0.0; 3];
    for k in 0..pts.len() {
        normal = add(normal, cross(pts[k], pts[(k + 1) % pts.len()]));
    }
    let g = pts.iter().fold([0.0; 3], |acc, &p| add(acc, grad(p)));
    if dot(normal, g) > 0.0 {
        poly.reverse();
    }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - b[1] * a[2], a[2] * b[0] - b[2] * a[0], a[0] * b[1] - b[0] * a[1]]
}
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_voxel_is_an_octahedron() {
        // The eight cubes around a lone voxel each hold its single-corner case.
        let roi = Roi { shape: [1, 1, 1], spacing: [1.0; 3], mask: vec![true], values: vec![1.0], levels: vec![1], padded: vec![], voxels: vec![] };
        let m = Mesh::of(&roi);
        // An octahedron with vertices at ±0.5 along each axis: volume 4/3 · 0.5³ = 1/6.
        assert!((m.volume - 1.0 / 6.0).abs() < 1e-12, "{}", m.volume);
        // Its 8 faces are equilateral with side √0.5: area 8 · (√3/4) · 0.5.
        assert!((m.area - 8.0 * 3f64.sqrt() / 4.0 * 0.5).abs() < 1e-12, "{}", m.area);
        assert_eq!(m.vertices.len(), 6);
    }

    #[test]
    fn a_block_has_the_volume_of_a_chamfered_box_and_scales_with_spacing() {
        // A 3×4×5 block: the surface is its voxel box cut back by half a voxel at the edges.
        let shape = [3, 4, 5];
        let n = 60;
        let roi = Roi { shape, spacing: [1.0; 3], mask: vec![true; n], values: vec![1.0; n], levels: vec![1], padded: vec![], voxels: vec![] };
        let m = Mesh::of(&roi);
        // The box of faces at the voxels' outer half (60) loses, along each of its 12
        // edges, a prism of cross-section 1/8: the volume lies below 60 and above that.
        assert!(m.volume < 60.0 && m.volume > 60.0 - 0.125 * 4.0 * (3.0 + 4.0 + 5.0), "{}", m.volume);
        let mut stretched = roi;
        stretched.spacing = [2.0, 1.0, 1.0];
        assert!((Mesh::of(&stretched).volume - 2.0 * m.volume).abs() < 1e-9);
    }
}
