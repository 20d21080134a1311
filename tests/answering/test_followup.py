from answering.followup import is_follow_up, key_terms, rewrite_follow_up


def test_key_terms_drop_stop_words_and_repeats():
    assert key_terms("What is the capital of France, the capital?") == ["capital", "France"]


def test_pronouns_and_short_questions_are_follow_ups():
    assert is_follow_up("When was it founded?")
    assert is_follow_up("And the population?")
    assert not is_follow_up("Who founded the University of Notre Dame in Indiana?")


def test_a_follow_up_takes_the_previous_key_terms_it_lacks():
    previous = "What is the University of Notre Dame?"
    assert rewrite_follow_up("When was it founded?", previous) == "When was it founded? University Notre Dame"
    assert rewrite_follow_up("Is Notre Dame old?", previous) == "Is Notre Dame old? University"


def test_standalone_questions_and_first_turns_are_left_alone():
    assert rewrite_follow_up(" When was it founded? ", None) == "When was it founded?"
    question = "Who founded the University of Notre Dame in Indiana in 1842?"
    assert rewrite_follow_up(question, "What is France?") == question
