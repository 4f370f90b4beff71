/* Scatterlists, DMA mappings and bios take the pfn. */
static void map_one(struct device *dev, struct scatterlist *sg,
		    struct bio *bio, struct bio_vec bv, dma_addr_t *addr)
{
	sg_set_page(sg, bvec_page(&bv), bv.bv_len, bv.bv_offset);
	*addr = dma_map_page(dev, bvec_page(&bv), bv.bv_offset, bv.bv_len,
			     DMA_TO_DEVICE);
	bio_add_page(bio, bvec_page(&bv), bv.bv_len, bv.bv_offset);
}
