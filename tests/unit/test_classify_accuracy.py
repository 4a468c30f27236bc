"""Zero-shot accuracy of the default model (all-MiniLM-L6-v2) on labelled sets written for this project.

The temperature and the sentiment descriptions were tuned on TOPICS and SENTIMENT. HELDOUT_SENTIMENT was written
afterwards to see how well those choices carry over, so its bar is lower; it also broke the tie between templates
that scored the same on the first two sets (so it is not fully held out for the template). Run with -s to see
the figures.
"""

from __future__ import annotations

import pytest

from ai_magics.tasks.classify.api import classify

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread_per_module")]


TOPICS = {
    "sports": [
        "The match ended 2-1 after a late goal in stoppage time.",
        "She won her third marathon this year, finishing in under two and a half hours.",
        "The coach was sacked after the team lost six games in a row.",
        "Our striker signed a new four-year contract with the club.",
        "The tennis final went to five sets and lasted almost four hours.",
        "He broke the national record in the 100 metres on Saturday.",
        "The Lakers beat the Celtics in overtime last night.",
        "Fans invaded the pitch after the home side clinched the league title.",
        "The cyclist crashed on the descent and had to abandon the Tour.",
        "Ticket prices for the World Cup final have tripled.",
    ],
    "politics": [
        "The prime minister called a snap election for next month.",
        "Parliament rejected the budget bill by twelve votes.",
        "The senator announced she would run for president.",
        "Opposition parties formed a coalition to challenge the ruling government.",
        "Voters head to the polls on Sunday in a closely watched referendum.",
        "The minister resigned after the corruption scandal broke.",
        "Lawmakers debated the new immigration law until midnight.",
        "The president vetoed the bill passed by Congress.",
        "Campaign spending reached a record high in this year's race for governor.",
        "The two countries signed a treaty after years of diplomatic talks.",
    ],
    "technology": [
        "The new smartphone ships with a faster chip and a better camera.",
        "Engineers released a software update that fixes the security bug.",
        "The startup built an app that translates speech in real time.",
        "Cloud computing costs dropped after the provider cut prices.",
        "Researchers trained a neural network to write computer code.",
        "The laptop's battery now lasts fourteen hours on a single charge.",
        "Hackers exploited a flaw in the operating system to steal passwords.",
        "The company unveiled a virtual reality headset at its developer conference.",
        "A new programming language promises memory safety without a garbage collector.",
        "The chipmaker opened a factory that produces 3-nanometre processors.",
    ],
    "health": [
        "Doctors recommend at least seven hours of sleep a night.",
        "The hospital reported a rise in flu cases this winter.",
        "A new vaccine cut infection rates by half in clinical trials.",
        "Eating more vegetables lowers the risk of heart disease.",
        "The patient recovered fully after surgery on her knee.",
        "Regular exercise can help reduce symptoms of depression.",
        "The clinic is offering free blood pressure checks this week.",
        "Researchers found that the drug slows the progression of Alzheimer's.",
        "Nurses warned of long waiting times in emergency departments.",
        "Smoking remains the leading preventable cause of cancer.",
    ],
}

SENTIMENT = {
    "positive": [
        "I absolutely loved this movie, the acting was superb.",
        "The food was delicious and the staff were very friendly.",
        "Best purchase I have made all year, it works perfectly.",
        "What a wonderful experience, I would go back tomorrow.",
        "The hotel room was spotless and the view was stunning.",
        "This book kept me hooked from the first page to the last.",
        "Great service, fast delivery, and the quality is excellent.",
        "I am so happy with the results, thank you!",
        "The concert was amazing and the crowd was fantastic.",
        "Highly recommended, it exceeded all my expectations.",
        "The new update made the app much faster and easier to use.",
        "Our guide was knowledgeable and made the tour a joy.",
        "I can't stop smiling, this gift was perfect.",
        "Comfortable shoes, I wore them all day without any pain.",
        "A brilliant and heartwarming story that made my day.",
    ],
    "negative": [
        "The movie was boring and far too long.",
        "The food was cold and the waiter was rude.",
        "It broke after two days, a complete waste of money.",
        "Terrible experience, I will never go back.",
        "The room was dirty and smelled awful.",
        "I could not finish this book, it was so dull.",
        "Delivery took three weeks and the box arrived damaged.",
        "I am really disappointed with the results.",
        "The concert was cancelled and nobody refunded our tickets.",
        "Do not buy this, it does not work at all.",
        "Since the update the app keeps crashing and losing my data.",
        "Our guide was late, unprepared and clearly did not care.",
        "This gift was cheap and fell apart immediately.",
        "These shoes gave me painful blisters within an hour.",
        "A depressing, badly written story that wasted my evening.",
    ],
}

HELDOUT_SENTIMENT = {
    "positive": [
        "The battery life on this phone is fantastic.",
        "Lovely little cafe with the best croissants in town.",
        "The customer support team solved my problem in minutes.",
        "Such a fun game, my kids play it every evening.",
        "The hike was beautiful and the weather was perfect.",
        "Really well made jacket, warm and stylish.",
        "The teacher explained everything clearly and patiently.",
        "Five stars, I will definitely order again.",
        "The museum was fascinating and well organised.",
        "Lovely people, great music, a night to remember.",
    ],
    "negative": [
        "The battery dies before lunch, very annoying.",
        "The coffee was bitter and the cake was stale.",
        "Support kept me on hold for an hour and then hung up.",
        "The game is full of bugs and constantly freezes.",
        "It rained the whole time and the trail was closed.",
        "The zipper broke the first time I used the jacket.",
        "The teacher was impatient and ignored our questions.",
        "One star, the worst order I have ever placed.",
        "The exhibition was overcrowded and poorly labelled.",
        "The noise was unbearable and the staff were unfriendly.",
    ],
}

SENTIMENT_LABELS = "positive=This is great.,negative=This is terrible."


def accuracy(dataset: dict[str, list[str]], labels: object) -> float:
    texts = [text for items in dataset.values() for text in items]
    truth = [label for label, items in dataset.items() for _ in items]
    predicted = classify(texts, labels)["label"].tolist()
    score = sum(p == t for p, t in zip(predicted, truth)) / len(truth)
    print(f"\nzero-shot accuracy {score:.3f} on {len(truth)} texts with labels {labels!r}")
    return score


def test_topics_with_bare_label_names() -> None:
    assert sum(map(len, TOPICS.values())) >= 30
    assert accuracy(TOPICS, list(TOPICS)) >= 0.9


def test_sentiment_with_label_descriptions() -> None:
    assert accuracy(SENTIMENT, SENTIMENT_LABELS) >= 0.9


def test_sentiment_carries_over_to_held_out_texts() -> None:
    assert accuracy(HELDOUT_SENTIMENT, SENTIMENT_LABELS) >= 0.8
    assert accuracy(HELDOUT_SENTIMENT, "positive,negative") >= 0.8
