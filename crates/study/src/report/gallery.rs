//! The crop gallery's panels. A crop's `preview.png` holds the three phases as the red, green
//! and blue channels, which is compact but not how a radiologist reads DCE-MRI: the report
//! shows each phase in grey, side by side, at half size.

/// The three phases of a preview PNG as grey PNGs of half its width and height.
pub fn phase_panels(preview: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(preview));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("crop preview: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("crop preview: too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| format!("crop preview: {e}"))?;
    let channels = info.color_type.samples();
    if channels < 3 {
        return Err(format!("crop preview: {channels} channels, expected the three phases as RGB"));
    }
    let (w, h) = (info.width as usize, info.height as usize);
    let (hw, hh) = ((w / 2).max(1), (h / 2).max(1));
    (0..3)
        .map(|c| {
            let mut grey = Vec::with_capacity(hw * hh);
            for y in 0..hh {
                for x in 0..hw {
                    // A 2×2 box average: halves the size without aliasing the texture.
                    let at = |dx: usize, dy: usize| u32::from(buf[((2 * y + dy).min(h - 1) * w + (2 * x + dx).min(w - 1)) * channels + c]);
                    grey.push(((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8);
                }
            }
            encode_grey(&grey, hw, hh)
        })
        .collect()
}

fn encode_grey(pixels: &[u8], w: usize, h: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::crop::{png_bytes, Plane};

    #[test]
    fn each_phase_becomes_its_own_grey_panel_at_half_size() {
        // Phase k is k/2 everywhere, except a bright 2×2 block in phase 1.
        let planes: Vec<Plane> = (0..3)
            .map(|k| {
                let mut data = vec![k as f32 / 2.0; 16];
                if k == 1 {
                    for i in [0, 1, 4, 5] {
                        data[i] = 1.0;
                    }
                }
                Plane { width: 4, height: 4, data }
            })
            .collect();
        let panels = phase_panels(&png_bytes(&planes).unwrap()).unwrap();
        let decode = |bytes: &[u8]| {
            let mut r = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
            let mut buf = vec![0; r.output_buffer_size().unwrap()];
            let info = r.next_frame(&mut buf).unwrap();
            assert_eq!((info.width, info.height, info.color_type), (2, 2, png::ColorType::Grayscale));
            buf
        };
        assert_eq!(decode(&panels[0]), vec![0; 4]);
        assert_eq!(decode(&panels[1]), vec![255, 128, 128, 128]);
        assert_eq!(decode(&panels[2]), vec![255; 4]);
    }
}
