//! Categorisation from photos (seed flow 4): the labels Rekognition sees in an item's first READY photo,
//! most confident first, mapped to one of our categories by the table below. The first label the table
//! knows decides; a photo none of whose labels it knows suggests nothing.

use super::Category;

/// Rekognition label (its `Name`, compared without case) → category. Labels are Rekognition's taxonomy
/// (https://docs.aws.amazon.com/rekognition/latest/dg/labels.html), e.g. "Mobile Phone" with parent "Phone".
const TABLE: &[(&str, Category)] = &[
    // furniture
    ("furniture", Category::Furniture),
    ("chair", Category::Furniture),
    ("table", Category::Furniture),
    ("desk", Category::Furniture),
    ("couch", Category::Furniture),
    ("sofa", Category::Furniture),
    ("bed", Category::Furniture),
    ("shelf", Category::Furniture),
    ("bookcase", Category::Furniture),
    ("cabinet", Category::Furniture),
    ("cupboard", Category::Furniture),
    ("drawer", Category::Furniture),
    ("lamp", Category::Furniture),
    // electronics
    ("electronics", Category::Electronics),
    ("mobile phone", Category::Electronics),
    ("phone", Category::Electronics),
    ("cell phone", Category::Electronics),
    ("computer", Category::Electronics),
    ("laptop", Category::Electronics),
    ("pc", Category::Electronics),
    ("monitor", Category::Electronics),
    ("screen", Category::Electronics),
    ("tv", Category::Electronics),
    ("television", Category::Electronics),
    ("camera", Category::Electronics),
    ("headphones", Category::Electronics),
    ("speaker", Category::Electronics),
    ("keyboard", Category::Electronics),
    ("tablet computer", Category::Electronics),
    ("appliance", Category::Electronics),
    // clothing
    ("clothing", Category::Clothing),
    ("apparel", Category::Clothing),
    ("shoe", Category::Clothing),
    ("footwear", Category::Clothing),
    ("coat", Category::Clothing),
    ("jacket", Category::Clothing),
    ("dress", Category::Clothing),
    ("shirt", Category::Clothing),
    ("pants", Category::Clothing),
    ("jeans", Category::Clothing),
    ("hat", Category::Clothing),
    ("handbag", Category::Clothing),
    // books
    ("book", Category::Books),
    ("novel", Category::Books),
    ("publication", Category::Books),
    ("comics", Category::Books),
    // kids
    ("toy", Category::Kids),
    ("teddy bear", Category::Kids),
    ("doll", Category::Kids),
    ("stroller", Category::Kids),
    ("crib", Category::Kids),
    ("baby", Category::Kids),
    ("lego", Category::Kids),
    // garden
    ("plant", Category::Garden),
    ("potted plant", Category::Garden),
    ("flower", Category::Garden),
    ("garden", Category::Garden),
    ("lawn mower", Category::Garden),
    ("shovel", Category::Garden),
    ("planter", Category::Garden),
    // sports
    ("bicycle", Category::Sports),
    ("bike", Category::Sports),
    ("ball", Category::Sports),
    ("sport", Category::Sports),
    ("skateboard", Category::Sports),
    ("tennis racket", Category::Sports),
    ("ski", Category::Sports),
    ("surfboard", Category::Sports),
    ("dumbbell", Category::Sports),
];

/// The category the labels suggest (the first label the table knows), if any.
pub fn suggest(labels: &[String]) -> Option<Category> {
    labels.iter().find_map(|label| {
        TABLE
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(label.trim()))
            .map(|(_, c)| *c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_first_label_the_table_knows_decides() {
        assert_eq!(
            suggest(&labels(&["Mobile Phone", "Phone", "Electronics"])),
            Some(Category::Electronics)
        );
        assert_eq!(
            suggest(&labels(&["Wood", "Chair", "Bicycle"])),
            Some(Category::Furniture),
            "Wood is unknown, Chair comes before Bicycle"
        );
        assert_eq!(suggest(&labels(&["TEDDY BEAR"])), Some(Category::Kids));
        assert_eq!(suggest(&labels(&["Sky", "Outdoors"])), None);
        assert_eq!(suggest(&[]), None);
    }

    #[test]
    fn every_category_but_other_can_be_suggested_and_each_label_once() {
        let mut names: Vec<&str> = TABLE.iter().map(|(n, _)| *n).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a label mapped twice");
        for category in Category::ALL {
            let covered = TABLE.iter().any(|(_, c)| c == category);
            assert_eq!(covered, *category != Category::Other, "{category}");
        }
    }
}
