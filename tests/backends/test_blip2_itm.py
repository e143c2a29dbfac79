"""The BLIP-2 ITM backend: match logit and ITC cosine against the model's own forward."""

import torch

from rewardkit.backends.blip2_itm import Blip2ITMBackend

CAPTIONS = [
    "a red car",
    "a man in a green shirt",
    "two dogs near a tree",
    "a small blue circle",
    "a cat",
    "the woman",
]


def test_itm_logit_equals_model_forward(blip2_itm_dir, images):
    from transformers import AutoTokenizer, Blip2ForImageTextRetrieval, BlipImageProcessor

    backend = Blip2ITMBackend(str(blip2_itm_dir), device="cpu", batch_size=4)
    got = backend.itm_logits(images, CAPTIONS)
    model = Blip2ForImageTextRetrieval.from_pretrained(blip2_itm_dir).eval()
    tok = AutoTokenizer.from_pretrained(blip2_itm_dir)
    pix = BlipImageProcessor.from_pretrained(blip2_itm_dir)(images=images, return_tensors="pt")[
        "pixel_values"
    ]
    enc = tok(CAPTIONS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(
            pixel_values=pix,
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            use_image_text_matching_head=True,
        )
    torch.testing.assert_close(got, out.logits_per_image[:, 1], rtol=1e-4, atol=1e-5)
    # order and batch size do not matter
    perm = [3, 1, 5, 0, 2, 4]
    backend.batch_size = 1
    again = backend.itm_logits([images[i] for i in perm], [CAPTIONS[i] for i in perm])
    torch.testing.assert_close(again, got[perm], rtol=1e-4, atol=1e-5)


def test_itc_cosine_equals_model_forward_diagonal(blip2_itm_dir, images):
    from transformers import AutoTokenizer, Blip2ForImageTextRetrieval, BlipImageProcessor

    backend = Blip2ITMBackend(str(blip2_itm_dir), device="cpu")
    got = backend.itc_cosine(images, CAPTIONS)
    model = Blip2ForImageTextRetrieval.from_pretrained(blip2_itm_dir).eval()
    tok = AutoTokenizer.from_pretrained(blip2_itm_dir)
    pix = BlipImageProcessor.from_pretrained(blip2_itm_dir)(images=images, return_tensors="pt")[
        "pixel_values"
    ]
    enc = tok(CAPTIONS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(
            pixel_values=pix,
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            use_image_text_matching_head=False,
        )
    torch.testing.assert_close(got, torch.diagonal(out.logits_per_image), rtol=1e-4, atol=1e-5)
