//! all-MiniLM-L6-v2 against sentence-transformers.

mod common;

use common::{f32s, reference, require, u32s};
use mantle_models::{BertEmbedder, model_dir};

#[test]
fn embeddings_and_token_ids_match() {
    let dir = model_dir::minilm_dir();
    require(dir.join("model.safetensors"));
    let embedder = BertEmbedder::load(&dir).unwrap();
    let r = reference("minilm_reference.json");
    let sentences = r["sentences"].as_array().unwrap();
    let texts: Vec<&str> = sentences
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    for (s, text) in sentences.iter().zip(&texts) {
        let enc = embedder.tokenizer().encode_for_model(text).unwrap();
        assert_eq!(enc.ids, u32s(&s["token_ids"]), "ids of {text:?}");
        // Counts leave out [CLS] and [SEP].
        assert_eq!(embedder.count_tokens(text).unwrap(), enc.ids.len() - 2);
    }
    // A text past the model's 256-token input counts whole, though the model reads 256.
    let long = texts.join(" ").repeat(40);
    assert_eq!(
        embedder
            .tokenizer()
            .encode_for_model(&long)
            .unwrap()
            .ids
            .len(),
        256
    );
    let whole = embedder.count_tokens(&long).unwrap();
    let parts: usize = (0..40)
        .map(|_| embedder.count_tokens(&texts.join(" ")).unwrap())
        .sum();
    assert!(
        whole > 1000 && whole.abs_diff(parts) <= 40,
        "{whole} vs {parts}"
    );
    let embs = embedder.embed(&texts).unwrap();
    assert_eq!(embs.len(), texts.len());
    let mut min_cos = 1.0f32;
    for ((s, text), got) in sentences.iter().zip(&texts).zip(&embs) {
        let want = f32s(&s["embedding"]);
        assert_eq!(got.len(), want.len());
        let cos: f32 = got.iter().zip(&want).map(|(a, b)| a * b).sum::<f32>()
            / (want.iter().map(|x| x * x).sum::<f32>().sqrt()
                * got.iter().map(|x| x * x).sum::<f32>().sqrt());
        assert!(cos >= 0.9999, "cosine {cos} for {text:?}");
        min_cos = min_cos.min(cos);
    }
    eprintln!("MiniLM: min cosine to the reference {min_cos}");
    // Many texts of mixed lengths (several batches, reordered by length) keep input order.
    let many: Vec<&str> = texts.iter().cycle().take(70).copied().collect();
    let many_embs = embedder.embed(&many).unwrap();
    for (i, v) in many_embs.iter().enumerate() {
        let cos: f32 = v
            .iter()
            .zip(&embs[i % texts.len()])
            .map(|(a, b)| a * b)
            .sum();
        assert!(cos > 0.99999, "text {i}: {cos}");
    }
    // One at a time gives the same vectors as the padded batch.
    let single = embedder.embed(&texts[..1]).unwrap();
    let cos: f32 = single[0].iter().zip(&embs[0]).map(|(a, b)| a * b).sum();
    assert!(cos > 0.99999);
}

/// The burn graph (the GPU-capable path, on the CPU backend here) agrees with the reference too.
#[test]
fn burn_graph_embeddings_match() {
    let dir = model_dir::minilm_dir();
    require(dir.join("model.safetensors"));
    let embedder = BertEmbedder::load_on(&dir, Default::default()).unwrap();
    let r = reference("minilm_reference.json");
    let sentences = r["sentences"].as_array().unwrap();
    let texts: Vec<&str> = sentences
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    for (s, got) in sentences.iter().zip(embedder.embed(&texts).unwrap()) {
        let want = f32s(&s["embedding"]);
        let cos: f32 = got.iter().zip(&want).map(|(a, b)| a * b).sum::<f32>()
            / want.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(cos >= 0.9999, "cosine {cos}");
    }
}
